"""Pagination for every list route: `?page=` and `?page_size=` in, the page's items as the JSON
array, and the rest in headers: `X-Total-Count`, and RFC 8288 `Link` with first, prev, next
and last. Queries page in SQL (LIMIT/OFFSET and a count), never in memory.

In a route:

    @router.get("/invoices", response_model=list[InvoicePublic], responses=PAGED)
    def list_invoices(who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response): ...
        rows = queries.list_invoices(session, who, status, page)   # returns a Page
        return page_answer(rows, response)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

T = TypeVar("T")
U = TypeVar("U")
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int
    path: str = ""
    query: tuple[tuple[str, str], ...] = ()

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    request: PageRequest

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page([convert(item) for item in self.items], self.total, self.request)

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.request.page_size))


def page_request(
    request: Request,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = 100,
) -> PageRequest:
    others = tuple((k, v) for k, v in request.query_params.multi_items() if k not in ("page", "page_size"))
    return PageRequest(page, page_size, request.url.path, others)


PageDep = Annotated[PageRequest, Depends(page_request)]


def page_of(session: Session, statement: Any, request: PageRequest) -> Page[Any]:
    """One page of a select (with its ORDER BY) and the total count of all its rows."""
    total = session.execute(sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
    rows = session.exec(statement.limit(request.page_size).offset(request.offset)).all()
    return Page(list(rows), int(total), request)


def page_of_list(items: Sequence[T], request: PageRequest) -> Page[T]:
    """For lists that are small by nature and built in Python (a few per trajectory)."""
    return Page(list(items[request.offset : request.offset + request.page_size]), len(items), request)


def page_answer(page: Page[T], response: Response) -> list[T]:
    response.headers["X-Total-Count"] = str(page.total)
    response.headers["Link"] = _links(page)
    return list(page.items)


def _links(page: Page[Any]) -> str:
    req = page.request

    def url(number: int) -> str:
        return f"{req.path}?{urlencode([*req.query, ('page', str(number)), ('page_size', str(req.page_size))])}"

    links = [(1, "first"), (page.last_page, "last")]
    if req.page > 1:
        links.append((min(req.page - 1, page.last_page), "prev"))
    if req.page < page.last_page:
        links.append((req.page + 1, "next"))
    return ", ".join(f'<{url(number)}>; rel="{rel}"' for number, rel in links)


# For `responses=` on a list route: the pagination headers in OpenAPI.
PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "X-Total-Count": {"description": "All items over all pages.", "schema": {"type": "integer"}},
            "Link": {"description": "RFC 8288 links: first, prev, next, last.", "schema": {"type": "string"}},
        }
    }
}
