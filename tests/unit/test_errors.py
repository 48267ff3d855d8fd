from shared.errors import Conflict, NotFound, RuleBroken
from shared.problems import problem_of_domain_error


def test_a_domain_error_can_name_several_fields_and_the_mapper_keeps_them_all():
    error = RuleBroken("plan.not_submittable", "The plan has 2 problems.", errors=[
        {"field": "budget.lines[0].amount", "message": "above the maximum", "code": "line.above_maximum"},
        {"field": "goal", "message": "missing", "code": "goal.missing"}])
    document = problem_of_domain_error(error).document()
    assert document["status"] == 422 and document["code"] == "plan.not_submittable"
    assert [e["field"] for e in document["errors"]] == ["budget.lines[0].amount", "goal"]


def test_not_found_says_the_same_for_missing_and_foreign_records_in_both_languages():
    error = NotFound("plan")
    assert (error.status, error.code) == (404, "plan.not_found")
    assert problem_of_domain_error(error, "nl").detail == "Er is geen plan met dit id dat u mag zien."
    assert problem_of_domain_error(error, "en").detail == "No plan with this id that you may see."


def test_the_mapper_tells_the_language_and_keeps_status_code_and_field():
    problem = problem_of_domain_error(Conflict("invoice.duplicate", "Already received.", "invoice_number",
                                               message_nl="Al ontvangen."), "nl")
    assert (problem.status, problem.code, problem.headers["Content-Language"]) == (409, "invoice.duplicate", "nl")
    assert problem.errors == [{"field": "invoice_number", "message": "Al ontvangen.", "code": "invoice.duplicate"}]
