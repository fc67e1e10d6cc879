"""Secret: redacted in every text form, refused by pickle and JSON, constant-time equal."""

import copy
import json
import logging
import pickle
import traceback

import pytest

from veloz.keys.secret import REDACTED
from veloz.keys.secret import Secret

PLAIN = "hunter2-very-secret-material"


def test_secret_repr_str_and_format_are_redacted() -> None:
    s = Secret(PLAIN)
    texts = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>40}", f"{s}", "%s %r" % (s, s)]  # noqa: UP031 (%-style is what logging uses)
    assert all(PLAIN not in t for t in texts)
    assert repr(s) == str(s) == f"{s:x}" == REDACTED


def test_secret_reveal_returns_the_text() -> None:
    assert Secret(PLAIN).reveal() == PLAIN


def test_secret_inside_containers_stays_redacted() -> None:
    s = Secret(PLAIN)
    assert PLAIN not in repr([s, {"k": s}, (s,)])


def test_secret_logging_never_shows_plaintext(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.secret")
    with caplog.at_level(logging.DEBUG, logger="test.secret"):
        log.info("loaded key=%s raw=%r", Secret(PLAIN), Secret(PLAIN))
        log.info("obj %s", {"secret": Secret(PLAIN)})
    assert caplog.records and PLAIN not in caplog.text
    assert REDACTED in caplog.text


def _fails_with_secret_local(secret: Secret) -> None:
    raise ValueError(f"cannot sign with {secret}")


def test_secret_traceback_with_locals_is_redacted() -> None:
    s = Secret(PLAIN)
    with pytest.raises(ValueError) as info:
        _fails_with_secret_local(s)
    tb = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    text = "".join(tb.format())
    assert "secret = Secret('***')" in text
    assert PLAIN not in text


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_secret_pickle_is_refused(protocol: int) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(PLAIN), protocol=protocol)


def test_secret_pickle_inside_a_container_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps({"k": [Secret(PLAIN)]})


def test_secret_json_serialisation_is_refused() -> None:
    with pytest.raises(TypeError):
        json.dumps({"secret": Secret(PLAIN)})


def test_secret_is_immutable_and_unhashable() -> None:
    s = Secret(PLAIN)
    with pytest.raises(AttributeError):
        s._value = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(s)


def test_secret_equality_compares_content() -> None:
    assert Secret(PLAIN) == Secret(PLAIN)
    assert Secret(PLAIN) != Secret(PLAIN + "x")
    assert Secret(PLAIN) != PLAIN


def test_secret_copy_returns_same_redacted_object() -> None:
    s = Secret(PLAIN)
    assert copy.deepcopy(s) is s and copy.copy(s) is s


@pytest.mark.parametrize("bad", ["", b"bytes"])
def test_secret_rejects_empty_or_non_str(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        Secret(bad)  # type: ignore[arg-type]
