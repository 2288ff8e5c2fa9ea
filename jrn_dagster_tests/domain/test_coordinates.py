import pytest

from jrn_dagster.domain.coordinates import RepoCoordinate, validate_clone_url_template
from jrn_dagster.domain.errors import InvalidInputError


def test_parse_and_urls() -> None:
    coordinate = RepoCoordinate.parse("GitHub.com/Acme/Widgets.js")
    assert (coordinate.host, coordinate.owner, coordinate.repo) == (
        "github.com",
        "Acme",
        "Widgets.js",
    )
    assert str(coordinate) == "github.com/Acme/Widgets.js"
    assert coordinate.key == "github.com/acme/widgets.js"
    assert coordinate.clone_url() == "https://github.com/Acme/Widgets.js.git"
    assert coordinate.web_url() == "https://github.com/Acme/Widgets.js"
    assert coordinate.compare_url("a" * 40, "b" * 40).endswith(f"/compare/{'a' * 40}...{'b' * 40}")


def test_enterprise_host_and_template() -> None:
    coordinate = RepoCoordinate.parse("git.example.corp/platform/api")
    template = "file:///srv/git/{host}/{owner}/{repo}.git"
    assert coordinate.clone_url(template) == "file:///srv/git/git.example.corp/platform/api.git"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "github.com/acme",
        "github.com/acme/widgets/extra",
        "github.com/acme/wid gets",
        "github.com/acme/..",
        "github.com/-x/widgets",
        "github.com/acme/-upload-pack=touch",
        "-oProxyCommand=x/acme/widgets",
        "github..com/acme/widgets",
        "github.com/acme/widgets;rm -rf",
        "github.com/acme/$(id)",
        "https://github.com/acme/widgets",
    ],
)
def test_invalid_coordinates_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid repo coordinate"):
        RepoCoordinate.parse(text)


def test_clone_url_template_validation() -> None:
    assert validate_clone_url_template("file:///x/{host}/{owner}/{repo}.git")
    with pytest.raises(InvalidInputError, match="must contain"):
        validate_clone_url_template("file:///x/{host}.git")
    with pytest.raises(InvalidInputError, match="unknown placeholder"):
        validate_clone_url_template("file:///x/{owner}/{repo}/{token}.git")
