# One-way-mode futures position of one instrument (Binance USD-M semantics) on exact fixed
# point. Owns qty, the exact open cost and realized PnL; never books fees (the caller does),
# never reads a mark price itself, never logs. Every product of raws goes through __int128 and
# a result that does not fit int64 is a NumberError with the position unchanged, never a wrap.
cimport cython
from libc.stdint cimport INT64_MAX
from libc.stdint cimport int64_t

from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t

from veloz._core.errors import InvariantError
from veloz._core.errors import NumberError

cdef extern from *:
    """
    typedef __int128 veloz_i128;
    """
    ctypedef long long veloz_i128  # really __int128; Cython only needs the name

cdef enum:
    # Same values as matching.OrdSide; kept local so this module imports no engine.
    BUY = 0
    SELL = 1


# ---- cold error paths: kept out of line so apply_fill stays small ----------------------------

cdef int _raise_fill(int side, px_t px, qty_t qty) except -1:
    if side != BUY and side != SELL:
        raise ValueError(f"side must be BUY (0) or SELL (1), got {side}")
    if px <= 0:
        raise ValueError(f"fill px must be > 0, got {px}")
    raise ValueError(f"fill qty must be > 0, got {qty}")


cdef int _raise_overflow(str what, int side, px_t px, qty_t qty, qty_t pos_qty) except -1:
    raise NumberError(f"{what} does not fit int64: fill side={side} px={px} qty={qty} "
                      f"on position qty={pos_qty}")


cdef inline bint _fits(veloz_i128 x) noexcept nogil:
    # Symmetric int64 range (|x| <= INT64_MAX), so negating a stored value never overflows.
    return -<veloz_i128>INT64_MAX <= x <= <veloz_i128>INT64_MAX


cdef inline veloz_i128 _ceil_div(veloz_i128 num, veloz_i128 den) noexcept nogil:
    # ceil(num / den) for den > 0; C division truncates toward zero, i.e. ceils negatives.
    cdef veloz_i128 q = num / den
    if num > 0 and q * den != num:
        q += 1
    return q


@cython.final
cdef class Position:
    """Futures position of one instrument in one-way mode, exact at ``price_dp + qty_dp``.

    A BUY fill adds to a long or reduces a short; a SELL fill the reverse. A fill larger than
    the open qty on the other side closes it in full at the fill px, then opens the remainder
    on the fill's side at that same px (Binance one-way mode).

    Parameters
    ----------
    price_dp : int
        Decimal places of every price raw (0..18).
    qty_dp : int
        Decimal places of every quantity raw (0..18); ``price_dp + qty_dp`` <= 18 is the
        notional dp of ``cost``, ``realized_pnl`` and every PnL this class returns.

    Raises
    ------
    ValueError
        If a dp is out of range.

    Notes
    -----
    ``cost`` is the exact sum of ``px * qty`` of the open quantity, signed like ``qty``
    (negative for a short), so ``unrealized_pnl(mark) == mark * qty - cost`` on both sides.
    Reducing by ``c`` of ``|qty|`` removes ``ceil(cost * c / |qty|)`` from the cost (signed
    ceil), which makes the fill's realized PnL ``floor(px * c_signed - cost * c / |qty|)``:
    the exact proportional PnL rounded toward minus infinity, never overstated. The sub-raw
    remainder stays in the open cost, and a full close removes all of what is left, so over a
    round trip from flat to flat ``sum(realized) == sum(sell px * qty) - sum(buy px * qty)``
    exactly. More generally, at any time since construction
    ``realized_pnl == sum(sell px * qty) - sum(buy px * qty) + cost``. Fees are not here.
    """

    def __init__(self, int price_dp, int qty_dp):
        if not 0 <= price_dp <= 18:
            raise ValueError(f"price_dp must be 0..18, got {price_dp}")
        if not 0 <= qty_dp <= 18:
            raise ValueError(f"qty_dp must be 0..18, got {qty_dp}")
        if price_dp + qty_dp > 18:
            raise ValueError(f"price_dp + qty_dp must be <= 18, got {price_dp} + {qty_dp}")
        self.price_dp = price_dp
        self.qty_dp = qty_dp
        self.qty = 0
        self.cost = 0
        self.realized_pnl = 0
        self.n_fills = 0

    # ---- C API ----------------------------------------------------------------------------

    cdef px_t entry_px_c(self) noexcept nogil:
        """Average entry px raw at ``price_dp``: ``|cost| / |qty|`` rounded half-even; 0 when
        flat. O(1). Fits px_t: the average of the entry prices stays within their range (the
        rounding rule keeps ``|qty| * min px <= |cost| <= |qty| * max px``)."""
        cdef veloz_i128 num
        cdef veloz_i128 den
        cdef veloz_i128 q
        cdef veloz_i128 r
        if self.qty == 0:
            return 0
        num = <veloz_i128>self.cost
        den = <veloz_i128>self.qty
        if num < 0:
            num = -num
        if den < 0:
            den = -den
        q = num / den
        r = num - q * den
        if 2 * r > den or (2 * r == den and (q & 1) == 1):
            q += 1
        return <px_t>q

    # ---- Python and C API -----------------------------------------------------------------

    cpdef int64_t apply_fill(self, int side, px_t px, qty_t qty) except? -1:
        """Apply one fill of this instrument; return its realized PnL.

        Parameters
        ----------
        side : int
            ``OrdSide.BUY`` (0) or ``OrdSide.SELL`` (1): the side of our order that filled.
        px : int
            Fill price raw at ``price_dp``, > 0.
        qty : int
            Fill quantity raw at ``qty_dp``, > 0.

        Returns
        -------
        int
            Realized PnL of this fill raw at ``price_dp + qty_dp``, signed; 0 when the fill
            only opens or adds. Rounded toward minus infinity on a partial reduce (see the
            class notes); exact on a full close or flip.

        Raises
        ------
        ValueError
            If side is not 0 or 1, or px or qty is <= 0.
        NumberError
            If the fill notional ``px * qty``, the new qty, cost, this fill's PnL or the
            cumulative realized PnL would not fit int64; the position is left unchanged.

        Notes
        -----
        O(1), no allocation; a flip closes the whole open qty at ``px`` (exact PnL) and opens
        the remainder with cost ``px * remainder``.
        """
        cdef veloz_i128 d
        cdef veloz_i128 q0 = self.qty
        cdef veloz_i128 c0 = self.cost
        cdef veloz_i128 q1
        cdef veloz_i128 c1
        cdef veloz_i128 removed
        cdef veloz_i128 pnl
        cdef veloz_i128 realized
        if (side != BUY and side != SELL) or px <= 0 or qty <= 0:
            return _raise_fill(side, px, qty)
        if not _fits(<veloz_i128>px * <veloz_i128>qty):
            return _raise_overflow("fill notional", side, px, qty, self.qty)
        d = <veloz_i128>qty if side == BUY else -<veloz_i128>qty
        q1 = q0 + d
        if q0 == 0 or (q0 > 0) == (d > 0):
            # Open or add: the whole fill becomes open cost at its own px.
            pnl = 0
            c1 = c0 + <veloz_i128>px * d
        elif (q1 > 0 and q0 > 0) or (q1 < 0 and q0 < 0):
            # Partial reduce (q1 keeps q0's sign): -d is the closed qty, signed like q0.
            removed = _ceil_div(c0 * <veloz_i128>qty, q0 if q0 > 0 else -q0)
            pnl = <veloz_i128>px * -d - removed
            c1 = c0 - removed
        else:
            # Full close (q1 == 0) or flip: all open cost goes, the remainder opens at px.
            pnl = <veloz_i128>px * q0 - c0
            c1 = <veloz_i128>px * q1
        realized = <veloz_i128>self.realized_pnl + pnl
        if not _fits(q1):
            return _raise_overflow("position qty", side, px, qty, self.qty)
        if not _fits(c1):
            return _raise_overflow("position cost", side, px, qty, self.qty)
        if not (_fits(pnl) and _fits(realized)):
            return _raise_overflow("realized PnL", side, px, qty, self.qty)
        self.qty = <qty_t>q1
        self.cost = <int64_t>c1
        self.realized_pnl = <int64_t>realized
        self.n_fills += 1
        return <int64_t>pnl

    cpdef int64_t unrealized_pnl(self, px_t mark_px) except? -1:
        """Return the unrealized PnL at ``mark_px``: ``mark_px * qty - cost``, exact.

        Parameters
        ----------
        mark_px : int
            Mark price raw at ``price_dp``, > 0.

        Returns
        -------
        int
            Raw at ``price_dp + qty_dp``, signed; 0 when flat. Equals
            ``(mark - exact entry) * qty`` with the unrounded entry ``cost / qty``.

        Raises
        ------
        ValueError
            If ``mark_px`` <= 0.
        NumberError
            If the result does not fit int64. O(1).
        """
        cdef veloz_i128 u
        if mark_px <= 0:
            raise ValueError(f"mark px must be > 0, got {mark_px}")
        u = <veloz_i128>mark_px * <veloz_i128>self.qty - <veloz_i128>self.cost
        if not _fits(u):
            raise NumberError(f"unrealized PnL at mark {mark_px} on qty {self.qty} "
                              f"cost {self.cost} does not fit int64")
        return <int64_t>u

    cpdef int64_t notional(self, px_t mark_px) except? -1:
        """Return the position's notional at ``mark_px``: ``mark_px * qty``, exact.

        Parameters
        ----------
        mark_px : int
            Mark price raw at ``price_dp``, > 0.

        Returns
        -------
        int
            Raw at ``price_dp + qty_dp``, signed like qty (negative for a short, as Binance
            reports ``notional``); 0 when flat.

        Raises
        ------
        ValueError
            If ``mark_px`` <= 0.
        NumberError
            If the result does not fit int64. O(1).
        """
        cdef veloz_i128 n
        if mark_px <= 0:
            raise ValueError(f"mark px must be > 0, got {mark_px}")
        n = <veloz_i128>mark_px * <veloz_i128>self.qty
        if not _fits(n):
            raise NumberError(f"notional at mark {mark_px} on qty {self.qty} does not fit int64")
        return <int64_t>n

    @property
    def entry_px(self):
        """Average entry price raw at ``price_dp``: ``|cost| / |qty|`` rounded half-even, 0
        when flat (Binance shows "0.0"). For display and orders only: PnL uses ``cost``."""
        return self.entry_px_c()

    @property
    def is_flat(self):
        """Whether no quantity is open (``qty == 0``)."""
        return self.qty == 0

    cpdef int check_invariants(self) except -1:
        """Check the position's state; return 0 or raise InvariantError naming the fault.

        Checks: dps in range; flat exactly when cost is 0; cost signed like qty; every value
        within the symmetric int64 range; ``|cost| >= |qty|`` (every open unit entered at a
        px of at least 1 raw, and the rounding rule never takes cost below that).

        Raises
        ------
        InvariantError
            On the first broken rule. O(1).
        """
        if not (0 <= self.price_dp <= 18 and 0 <= self.qty_dp <= 18
                and self.price_dp + self.qty_dp <= 18):
            raise InvariantError(f"dps out of range: price_dp={self.price_dp} "
                                 f"qty_dp={self.qty_dp}")
        if not (_fits(self.qty) and _fits(self.cost) and _fits(self.realized_pnl)):
            raise InvariantError(f"a value at INT64_MIN: {self!r}")
        if self.qty == 0:
            if self.cost != 0:
                raise InvariantError(f"flat position with cost {self.cost}")
            return 0
        if (self.cost > 0) != (self.qty > 0) or self.cost == 0:
            raise InvariantError(f"cost {self.cost} not signed like qty {self.qty}")
        if abs(self.cost) < abs(self.qty):  # both within the symmetric range, checked above
            raise InvariantError(f"|cost| {self.cost} below |qty| {self.qty}: "
                                 f"entry px under 1 raw")
        if self.n_fills <= 0:
            raise InvariantError(f"open qty {self.qty} after {self.n_fills} fills")
        return 0

    def __repr__(self):
        return (f"Position(qty={self.qty} entry_px={self.entry_px_c()} cost={self.cost} "
                f"realized_pnl={self.realized_pnl} n_fills={self.n_fills} "
                f"price_dp={self.price_dp} qty_dp={self.qty_dp})")
