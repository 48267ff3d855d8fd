"""The web pages: server-rendered HTML (Jinja2) for clients, case managers, team leads, finance,
policy staff and ops. A client of the services' public APIs like any partner (api_client.py): in
embedded mode called in process, in distributed mode over HTTP; a page never reads a table and is
authorised exactly as the API calls behind it."""
