from collections.abc import Iterable
from typing import final

import numpy as np
import numpy.typing as npt

from veloz._core.units import Px
from veloz._core.units import Qty

@final
class DepthMsg:
    first_id: int
    last_id: int
    prev_id: int
    exch_ns: int
    txn_ns: int
    is_snapshot: bool
    @property
    def n_bids(self) -> int: ...
    @property
    def n_asks(self) -> int: ...
    def __init__(
        self,
        first_id: int = ...,
        last_id: int = ...,
        prev_id: int = ...,
        bids: Iterable[tuple[Px, Qty]] = ...,
        asks: Iterable[tuple[Px, Qty]] = ...,
        is_snapshot: bool = ...,
        exch_ns: int = ...,
        txn_ns: int = ...,
    ) -> None: ...
    def clear(self) -> None: ...
    def copy(self) -> DepthMsg: ...
    @property
    def bids(self) -> npt.NDArray[np.int64]: ...
    @property
    def asks(self) -> npt.NDArray[np.int64]: ...
