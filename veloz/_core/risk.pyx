# Pre-trade risk checks on int64 raws: one call per new order or cancel, an int reason back.
# Owns per-slot limits, the positions and reference prices it is told, the gross notional
# total, the order and cancel token buckets (clock passed in) and the mode. Never reads a
# clock, never logs, never builds a Python object on the passing path; products of raws go
# through __int128 so a fat-finger order cannot wrap past a limit.
cimport cython
from libc.math cimport llround
from libc.stdint cimport INT64_MAX
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc
from libc.stdlib cimport free

from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t

from veloz._core import fixed
from veloz._core.errors import InvariantError

cdef extern from *:
    """
    typedef __int128 veloz_i128;
    """
    ctypedef long long veloz_i128  # really __int128; Cython only needs the name

cdef enum:
    BUY = 0
    SELL = 1
    BPS = 10000
    MAX_DP = 18

cdef int64_t NANO_TOKEN = 1000000000  # nano-tokens per token

# Rule names by reason code; every reason_text starts with one of these and ": " (or is "ok").
REASON_NAMES = (
    "ok",
    "bad_slot",
    "bad_input",
    "halted",
    "cancel_only",
    "reduce_only",
    "no_ref_px",
    "tick",
    "step",
    "min_qty",
    "max_qty",
    "min_notional",
    "max_notional",
    "price_band",
    "position_limit",
    "gross_limit",
    "order_rate",
    "cancel_rate",
)


cdef inline int64_t _sat(veloz_i128 x) noexcept nogil:
    # Clamp to the symmetric int64 range: recorded figures and gross sums never wrap.
    if x > <veloz_i128>INT64_MAX:
        return INT64_MAX
    if x < -<veloz_i128>INT64_MAX:
        return -INT64_MAX
    return <int64_t>x


cdef inline veloz_i128 _abs128(veloz_i128 x) noexcept nogil:
    return -x if x < 0 else x


cdef inline veloz_i128 _ceil_div(veloz_i128 num, veloz_i128 den) noexcept nogil:
    # ceil(num / den) for num >= 0, den > 0.
    return (num + den - 1) / den


cdef inline int64_t _slot_gross(SlotLimits* s) noexcept nogil:
    # |position| * ref_px at gross_dp, rounded up (a limit is never under-counted).
    cdef veloz_i128 n = _abs128(<veloz_i128>s.position) * <veloz_i128>s.ref_px
    return _sat(_ceil_div(n, <veloz_i128>s.gross_unit))


cdef inline bint _take(Bucket* b, ns_t now_ns) noexcept nogil:
    # One token at now_ns; refill is exact integer arithmetic (the Python twin matches it).
    cdef veloz_i128 level
    if b.last_ns < 0:
        b.last_ns = now_ns
    elif now_ns > b.last_ns:
        level = <veloz_i128>b.level + (<veloz_i128>(now_ns - b.last_ns) * b.rate_milli) / 1000
        b.level = b.burst if level > b.burst else <int64_t>level
        b.last_ns = now_ns
    if b.level >= NANO_TOKEN:
        b.level -= NANO_TOKEN
        return True
    return False


cdef int _init_bucket(Bucket* b, str what, double rate, double burst) except -1:
    if not rate > 0 or not burst >= 1 or rate > 1e9 or burst > 1e9:
        raise ValueError(f"{what}: need 0 < rate <= 1e9 and 1 <= burst <= 1e9, "
                         f"got rate={rate} burst={burst}")
    b.rate_milli = llround(rate * 1000.0)
    if b.rate_milli <= 0:
        raise ValueError(f"{what}: rate={rate} below 0.001/s")
    b.burst = llround(burst * 1e9)
    b.level = b.burst
    b.last_ns = -1
    return 0


@cython.final
cdef class PreTradeRisk:
    """Pre-trade checks over `n_slots` instruments, each a slot configured once.

    Parameters
    ----------
    n_slots : int
        Number of instrument slots (>= 1).
    max_orders_per_s, order_burst : float
        New-order token bucket: refill per second and capacity (starts full).
    max_cancels_per_s, cancel_burst : float
        Cancel token bucket, likewise.
    max_gross : int
        Largest sum over slots of ``|position| * ref_px`` (orders that grow a position are
        valued at their own or market reference price), raw at `gross_dp`; 0 = no bound.
    gross_dp : int
        Decimals of gross notional figures, 0..18; every slot needs
        ``price_dp + qty_dp >= gross_dp``.

    Raises
    ------
    ValueError
        A bad count, rate, burst or scale.
    """

    def __init__(self, int n_slots, double max_orders_per_s, double order_burst,
                 double max_cancels_per_s, double cancel_burst, int64_t max_gross=0,
                 int gross_dp=2):
        if n_slots < 1 or n_slots > 1 << 20:
            raise ValueError(f"n_slots={n_slots}: must be 1..{1 << 20}")
        if not 0 <= gross_dp <= MAX_DP:
            raise ValueError(f"gross_dp={gross_dp}: must be 0..18")
        if max_gross < 0:
            raise ValueError(f"max_gross={max_gross}: must be >= 0")
        _init_bucket(&self._orders, "order bucket", max_orders_per_s, order_burst)
        _init_bucket(&self._cancels, "cancel bucket", max_cancels_per_s, cancel_burst)
        free(self._slots)  # __init__ called again: start over
        self.n_slots = 0
        self._slots = <SlotLimits*>calloc(n_slots, sizeof(SlotLimits))
        if self._slots == NULL:
            raise MemoryError()
        self.n_slots = n_slots
        self.gross_dp = gross_dp
        self.max_gross = max_gross
        self.gross_total = 0
        self.mode = MODE_ACTIVE
        self._last_code = R_OK
        self._last_slot = -1

    def __dealloc__(self):
        free(self._slots)

    cdef int _refuse(self, int code, int slot, int64_t value, int64_t limit) noexcept:
        self._n_reasons[code] += 1
        self._last_code = code
        self._last_slot = slot
        self._last_value = value
        self._last_limit = limit
        return code

    cpdef int configure(self, int slot, int price_dp, int qty_dp, px_t tick, qty_t step,
                        qty_t min_qty, qty_t max_qty, int64_t min_notional,
                        int64_t max_notional, qty_t max_position,
                        int64_t band_bps) except -1:
        """Set the limits of `slot` (its position and reference price are kept).

        Parameters
        ----------
        slot : int
            0..n_slots-1.
        price_dp, qty_dp : int
            Scales of the instrument's prices and quantities; their sum <= 18 and >= gross_dp.
        tick, step : int
            Price tick raw at price_dp, quantity step raw at qty_dp (> 0).
        min_qty, max_qty : int
            Order quantity bounds, raws at qty_dp; 0 = no bound.
        min_notional, max_notional : int
            Order ``px * qty`` bounds, raws at price_dp + qty_dp; 0 = no bound.
        max_position : int
            Bound on ``|position|`` after the order, raw at qty_dp; 0 = no bound.
        band_bps : int
            Largest distance of a limit price from the reference price, bps (0 = no band,
            1..10000); market BUYs are valued at ref raised by the band.

        Raises
        ------
        ValueError
            A slot, scale or limit out of range.
        """
        cdef SlotLimits* s
        if slot < 0 or slot >= self.n_slots:
            raise ValueError(f"slot={slot}: must be 0..{self.n_slots - 1}")
        if price_dp < 0 or qty_dp < 0 or price_dp + qty_dp > MAX_DP:
            raise ValueError(f"price_dp={price_dp} qty_dp={qty_dp}: need both >= 0, sum <= 18")
        if price_dp + qty_dp < self.gross_dp:
            raise ValueError(f"price_dp + qty_dp = {price_dp + qty_dp} < gross_dp={self.gross_dp}")
        if tick <= 0 or step <= 0:
            raise ValueError(f"tick={tick} step={step}: must be > 0")
        if min_qty < 0 or max_qty < 0 or min_notional < 0 or max_notional < 0 or max_position < 0:
            raise ValueError("risk limits must be >= 0 (0 = no bound)")
        if not 0 <= band_bps <= BPS:
            raise ValueError(f"band_bps={band_bps}: must be 0..10000")
        s = &self._slots[slot]
        s.price_dp = price_dp
        s.qty_dp = qty_dp
        s.tick = tick
        s.step = step
        s.min_qty = min_qty
        s.max_qty = max_qty
        s.min_notional = min_notional
        s.max_notional = max_notional
        s.max_position = max_position
        s.band_bps = band_bps
        s.gross_unit = 1
        for _ in range(price_dp + qty_dp - self.gross_dp):
            s.gross_unit *= 10
        s.is_configured = True
        self._set_gross(s)
        return 0

    cdef void _set_gross(self, SlotLimits* s) noexcept:
        cdef int64_t g = _slot_gross(s)
        self.gross_total = _sat(<veloz_i128>self.gross_total - s.gross + g)
        s.gross = g

    cdef SlotLimits* _slot(self, int slot) except NULL:
        if slot < 0 or slot >= self.n_slots or not self._slots[slot].is_configured:
            raise ValueError(f"slot={slot}: not configured")
        return &self._slots[slot]

    cpdef int set_ref_px(self, int slot, px_t px) except -1:
        """Record the reference price (mid or last), raw at price_dp; <= 0 forgets it. O(1)."""
        cdef SlotLimits* s = self._slot(slot)
        s.ref_px = px if px > 0 else 0
        self._set_gross(s)
        return 0

    cpdef int set_position(self, int slot, qty_t qty) except -1:
        """Record the signed position of `slot`, raw at qty_dp (> 0 long). O(1)."""
        cdef SlotLimits* s = self._slot(slot)
        if qty == -INT64_MAX - 1:
            raise ValueError("position out of range")
        s.position = qty
        self._set_gross(s)
        return 0

    cpdef int set_mode(self, int mode) except -1:
        """Set the global `RiskMode` (the engine's state)."""
        if not MODE_ACTIVE <= mode <= MODE_HALTED:
            raise ValueError(f"mode={mode}: must be 0..3")
        self.mode = mode
        return 0

    cpdef int set_slot_mode(self, int slot, int mode) except -1:
        """Set one slot's own `RiskMode`; the stricter of it and the global mode applies."""
        cdef SlotLimits* s = self._slot(slot)
        if not MODE_ACTIVE <= mode <= MODE_HALTED:
            raise ValueError(f"mode={mode}: must be 0..3")
        s.mode = mode
        return 0

    cpdef int check_new(self, int slot, int side, bint is_market, px_t px, qty_t qty,
                        ns_t now_ns) except -1:
        """Check a new order; return 0 when it may go, else a `Reason` code.

        Rules in `Reason` order (mode, reduce-only, reference price, tick, step, quantity,
        notional, band, position, gross, then the order rate, so a refused order costs no
        token). O(1).

        Parameters
        ----------
        slot : int
            The instrument's slot.
        side : int
            0 BUY, 1 SELL.
        is_market : bool
            MARKET (valued at ref_px, BUY raised by the band) versus priced.
        px : int
            Limit price raw at price_dp (ignored for market orders).
        qty : int
            Quantity raw at qty_dp.
        now_ns : int
            CLOCK_MONOTONIC ns for the order bucket.
        """
        cdef SlotLimits* s
        cdef int mode
        cdef qty_t pos
        cdef veloz_i128 new_pos
        cdef veloz_i128 new_abs
        cdef veloz_i128 val_px
        cdef veloz_i128 notional
        cdef veloz_i128 off
        cdef veloz_i128 g
        cdef bint grows
        if slot < 0 or slot >= self.n_slots or not self._slots[slot].is_configured:
            return self._refuse(R_BAD_SLOT, slot, slot, self.n_slots)
        s = &self._slots[slot]
        if (side != BUY and side != SELL) or qty <= 0 or (not is_market and px <= 0):
            return self._refuse(R_BAD_INPUT, slot, qty, px)
        mode = self.mode if self.mode > s.mode else s.mode
        if mode == MODE_HALTED:
            return self._refuse(R_HALTED, slot, 0, 0)
        if mode == MODE_CANCEL_ONLY:
            return self._refuse(R_CANCEL_ONLY, slot, 0, 0)
        pos = s.position
        new_pos = <veloz_i128>pos + qty if side == BUY else <veloz_i128>pos - qty
        new_abs = _abs128(new_pos)
        grows = new_abs > _abs128(<veloz_i128>pos)
        if mode == MODE_REDUCE_ONLY:
            if not ((pos > 0 and side == SELL and qty <= pos)
                    or (pos < 0 and side == BUY and qty <= -pos)):
                return self._refuse(R_REDUCE_ONLY, slot, qty, pos if pos >= 0 else -pos)
        if is_market:
            if s.ref_px == 0:
                return self._refuse(R_NO_REF_PX, slot, 0, 0)
            val_px = s.ref_px
            if side == BUY:
                val_px = _ceil_div(val_px * (BPS + s.band_bps), BPS)
        else:
            if s.band_bps and s.ref_px == 0:
                return self._refuse(R_NO_REF_PX, slot, 0, 0)
            if px % s.tick:
                return self._refuse(R_TICK, slot, px, s.tick)
            val_px = px
        if qty % s.step:
            return self._refuse(R_STEP, slot, qty, s.step)
        if s.min_qty and qty < s.min_qty:
            return self._refuse(R_MIN_QTY, slot, qty, s.min_qty)
        if s.max_qty and qty > s.max_qty:
            return self._refuse(R_MAX_QTY, slot, qty, s.max_qty)
        notional = val_px * qty
        if s.min_notional and notional < s.min_notional:
            return self._refuse(R_MIN_NOTIONAL, slot, _sat(notional), s.min_notional)
        if s.max_notional and notional > s.max_notional:
            return self._refuse(R_MAX_NOTIONAL, slot, _sat(notional), s.max_notional)
        if not is_market and s.band_bps:
            off = _abs128(<veloz_i128>px - s.ref_px)
            if off * BPS > <veloz_i128>s.band_bps * s.ref_px:
                return self._refuse(R_PRICE_BAND, slot, _sat(off * BPS / s.ref_px), s.band_bps)
        if grows:
            if s.max_position and new_abs > s.max_position:
                return self._refuse(R_POSITION_LIMIT, slot, _sat(new_abs), s.max_position)
            if self.max_gross:
                g = (<veloz_i128>self.gross_total - s.gross
                     + _ceil_div(new_abs * val_px, <veloz_i128>s.gross_unit))
                if g > self.max_gross:
                    return self._refuse(R_GROSS_LIMIT, slot, _sat(g), self.max_gross)
        if not _take(&self._orders, now_ns):
            return self._refuse(R_ORDER_RATE, slot, self._orders.level, NANO_TOKEN)
        self._n_reasons[0] += 1
        return R_OK

    cpdef int check_cancel(self, ns_t now_ns) except -1:
        """Check one cancel (or cancel-all) against the cancel bucket; 0 = may go. O(1).

        Cancels pass in every mode: HALTED and CANCEL_ONLY exist to get orders off the book.
        """
        if not _take(&self._cancels, now_ns):
            return self._refuse(R_CANCEL_RATE, -1, self._cancels.level, NANO_TOKEN)
        self._n_reasons[0] += 1
        return R_OK

    cpdef int64_t n_reason(self, int code) except -1:
        """Return how many checks ended with `code` (``R_OK``: passed) since start."""
        if not 0 <= code < R_N_REASONS:
            raise ValueError(f"code={code}: must be 0..{R_N_REASONS - 1}")
        return self._n_reasons[code]

    def counters(self):
        """Return ``{"n_<reason>": count}`` for every reason code (``n_ok``: passed)."""
        return {f"n_{name}": self._n_reasons[i] for i, name in enumerate(REASON_NAMES)}

    def position(self, int slot):
        """Return the signed position of `slot`, raw at qty_dp."""
        return self._slot(slot).position

    def ref_px(self, int slot):
        """Return the reference price of `slot`, raw at price_dp (0 = unknown)."""
        return self._slot(slot).ref_px

    def slot_gross(self, int slot):
        """Return ``|position| * ref_px`` of `slot` at gross_dp, rounded up."""
        return self._slot(slot).gross

    def slot_mode(self, int slot):
        """Return the slot's own `RiskMode`."""
        return self._slot(slot).mode

    def reason_text(self, int code):
        """Return the text the strategy sees for `code`, with figures of the last refusal.

        Starts with the rule name and ``": "``; figures (value > limit) appear when `code`
        is the code of the most recent refusal. Cold path: builds Python strings.
        """
        cdef SlotLimits* s
        cdef int ndp
        if not 0 <= code < R_N_REASONS:
            return f"unknown: reason code {code}"
        name = REASON_NAMES[code]
        if code == R_OK:
            return "ok"
        if code != self._last_code:
            return f"{name}: refused"
        v = self._last_value
        lim = self._last_limit
        if code == R_BAD_SLOT:
            return f"bad_slot: slot {v} not configured ({lim} slots)"
        if code == R_BAD_INPUT:
            return f"bad_input: side must be 0/1, qty > 0, limit px > 0 (qty={v} px={lim})"
        if code in (R_HALTED, R_CANCEL_ONLY):
            return f"{name}: new orders are refused in this mode"
        if code in (R_ORDER_RATE, R_CANCEL_RATE):
            return f"{name}: bucket empty (rate limit)"
        if code == R_NO_REF_PX:
            return "no_ref_px: no mid or last price yet"
        s = &self._slots[self._last_slot]
        if code in (R_TICK,):
            return (f"tick: {fixed.to_text(v, s.price_dp)} not a multiple of "
                    f"{fixed.to_text(lim, s.price_dp)}")
        if code == R_PRICE_BAND:
            return f"price_band: {v} bps from reference (max {lim} bps)"
        if code == R_GROSS_LIMIT:
            return (f"gross_limit: {fixed.to_text(v, self.gross_dp)} > "
                    f"{fixed.to_text(lim, self.gross_dp)}")
        if code in (R_MIN_NOTIONAL, R_MAX_NOTIONAL):
            ndp = s.price_dp + s.qty_dp
            op = "<" if code == R_MIN_NOTIONAL else ">"
            return f"{name}: {fixed.to_text(v, ndp)} {op} {fixed.to_text(lim, ndp)}"
        if code == R_STEP:
            return (f"step: {fixed.to_text(v, s.qty_dp)} not a multiple of "
                    f"{fixed.to_text(lim, s.qty_dp)}")
        op = "<" if code == R_MIN_QTY else ">"
        return f"{name}: {fixed.to_text(v, s.qty_dp)} {op} {fixed.to_text(lim, s.qty_dp)}"

    def check_invariants(self):
        """Raise InvariantError unless the gross total is the sum of the slot figures."""
        cdef veloz_i128 total = 0
        cdef int i
        for i in range(self.n_slots):
            if self._slots[i].is_configured:
                if self._slots[i].gross != _slot_gross(&self._slots[i]):
                    raise InvariantError(f"slot {i}: stale gross figure")
                total += self._slots[i].gross
        if _sat(total) != self.gross_total:
            raise InvariantError(f"gross_total={self.gross_total} != sum {_sat(total)}")
        return 0
