"""A run's sandbox can be released by its key from another process (the failure sensor)."""

from jrn_dagster_tests.support.sandboxes import Backend


def test_release_for_key_from_a_fresh_resource(backend: Backend) -> None:
    opener = backend.make_resource()
    sandbox = opener.open("run-1234")
    other = opener.open("run-5678")
    cleaner = backend.make_resource()  # e.g. the failure sensor's own resource instance
    assert cleaner.release_for_key("run-1234") == [sandbox.id]
    assert cleaner.release_for_key("run-1234") == []  # already gone: nothing to do
    if backend.cloud is not None:
        assert backend.cloud.killed == {sandbox.id}
    else:
        assert not backend.make_resource().attach(other.id).released
    other.release()


def test_release_for_key_of_a_sandbox_this_instance_holds(backend: Backend) -> None:
    resource = backend.make_resource()
    sandbox = resource.open("run-1")
    assert resource.release_for_key("run-1") == [sandbox.id]
    assert sandbox.released
