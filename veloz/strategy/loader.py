"""Find a Strategy class from a config ``path``: dotted module or a ``.py`` file.

Owns importing the user's module and checking that the named attribute is a `Strategy`
subclass, with one clear `ConfigError` per failure. Must not construct or run strategies.
"""

import importlib
import importlib.util
import logging
import sys
from pathlib import Path

from veloz.errors import ConfigError
from veloz.strategy.base import Strategy

log = logging.getLogger(__name__)

__all__ = ["load_class"]


def load_class(
    path: str, base_dir: Path | None = None, fallback_dir: Path | None = None
) -> type[Strategy]:
    """Return the Strategy subclass named by `path`.

    Parameters
    ----------
    path : str
        ``"package.module:ClassName"`` (imported with importlib) or
        ``"dir/file.py:ClassName"`` (a file; relative paths resolve against `base_dir`).
    base_dir : Path or None
        Directory relative file paths start from; the current directory when None.
    fallback_dir : Path or None
        Tried next for a relative file path not found under `base_dir` (the config
        file's directory).

    Raises
    ------
    ConfigError
        Malformed `path`, a module or file that cannot be found or fails to import (the
        error is named), a missing attribute, or one that is not a `Strategy` subclass.
    """
    where, sep, attr = path.rpartition(":")
    if not sep or not where or not attr.isidentifier():
        raise ConfigError(f"path={path!r}: must be 'module.path:Class' or 'file.py:Class'")
    if where.endswith(".py") or "/" in where:
        module = _import_file(path, where, base_dir, fallback_dir)
    else:
        module = _import_module(path, where)
    cls = getattr(module, attr, None)
    if cls is None:
        raise ConfigError(f"path={path!r}: module {where!r} has no attribute {attr!r}")
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(f"path={path!r}: {attr!r} is not a subclass of veloz.Strategy")
    if cls is Strategy:
        raise ConfigError(f"path={path!r}: name a subclass of veloz.Strategy, not the base")
    return cls


def _import_module(path: str, name: str) -> object:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"path={path!r}: module not found: {exc.name}") from None
    except Exception as exc:  # the user's module failed at import: name why
        raise ConfigError(
            f"path={path!r}: importing {name!r} failed: {type(exc).__name__}: {exc}"
        ) from None


def _import_file(path: str, file: str, base_dir: Path | None, fallback_dir: Path | None) -> object:
    p = Path(file)
    if not p.is_absolute():
        p = (base_dir or Path.cwd()) / p
        if not p.is_file() and fallback_dir is not None:
            p = fallback_dir / file
    if not p.is_file():
        raise ConfigError(f"path={path!r}: file not found: {p}")
    # One module name per file, so two files of the same stem do not collide.
    mod_name = "veloz_user_strategy_" + "".join(c if c.isalnum() else "_" for c in str(p))
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, p)
    if spec is None or spec.loader is None:
        raise ConfigError(f"path={path!r}: cannot load {p} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file failed at import: name why
        del sys.modules[mod_name]
        raise ConfigError(
            f"path={path!r}: importing {p} failed: {type(exc).__name__}: {exc}"
        ) from None
    log.info("strategy.loaded_file file=%s", p)
    return module
