# Pre-trade risk checks on int64 raws: one call per new order or cancel, an int reason back.
# Owns per-slot limits, the mids and positions it is told, the gross notional total, the
# order and cancel token buckets (clock passed in) and the mode. Never reads a clock, never
# logs, never builds a Python object on the passing path; products of raws go through
# __int128 so a fat-finger order cannot wrap past a limit, at any price_dp + qty_dp.
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
    /* Above every px * qty of two int64 raws ((2**63 - 1)**2 < 2**126 - 1). */
    #define VELOZ_NOTIONAL_CAP ((((veloz_i128)1) << 126) - 1)
    """
    veloz_i128 VELOZ_NOTIONAL_CAP

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
    "no_market_data",
    "tick",
    "step",
    "min_qty",
    "max_order_qty",
    "min_notional",
    "max_notional",
    "price_band",
    "position_limit",
    "gross_limit",
    "order_rate",
    "cancel_rate",
)
_SIDES = ("BUY", "SELL")


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
    # ceil(num / den) for 0 <= num < 2**127 - den, den > 0.
    return (num + den - 1) // den


cdef inline int64_t _slot_gross(SlotLimits* s) noexcept nogil:
    # |position| * mid at gross_dp, rounded up (a limit is never under-counted); mid_x2
    # keeps the half tick, so the figure is exact. |position| < 2**63, mid_x2 < 2**63.
    cdef veloz_i128 n = _abs128(<veloz_i128>s.position) * <veloz_i128>s.mid_x2
    return _sat(_ceil_div(n, <veloz_i128>s.gross_unit2))


cdef veloz_i128 _thr2(int64_t raw, int raw_dp, int ndp, bint is_min) noexcept nogil:
    # 2 * the notional limit raw/10**raw_dp as a threshold on px*qty (an integer at ndp):
    # exact, because px*qty > L/10**k <=> px*qty > floor(L/10**k) and px*qty < L/10**k <=>
    # px*qty < ceil(L/10**k). Past VELOZ_NOTIONAL_CAP no product can reach it: capped.
    cdef veloz_i128 v = raw
    cdef veloz_i128 d = 1
    cdef int _i
    if raw_dp <= ndp:
        for _i in range(ndp - raw_dp):
            if v > VELOZ_NOTIONAL_CAP // 10:
                v = VELOZ_NOTIONAL_CAP
                break
            v *= 10
    else:
        for _i in range(raw_dp - ndp):  # raw_dp <= 18: d <= 10**18
            d *= 10
        v = _ceil_div(v, d) if is_min else v // d
    return 2 * v


cdef inline bint _take(Bucket* b, ns_t now_ns) noexcept nogil:
    # One token at now_ns; refill is exact integer arithmetic (the Python twin matches it).
    cdef veloz_i128 level
    if b.last_ns < 0:
        b.last_ns = now_ns
    elif now_ns > b.last_ns:
        level = <veloz_i128>b.level + (<veloz_i128>(now_ns - b.last_ns) * b.rate_milli) // 1000
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


# ---- refusal texts (cold path: Python ints and strings) -----------------------------------

def _amount(value, dp):
    # An exact amount at dp; past int64 (a fat-finger order) only the bound it is above.
    if value < INT64_MAX:
        return fixed.to_text(value, dp)
    return ">=" + fixed.to_text(INT64_MAX, dp)


def _half_text(x2, dp):
    # The exact value of x2 / 2 at dp: an odd x2 is half a unit more, one more digit "5".
    text = _amount(x2 // 2, dp)
    if x2 % 2 == 0 or text.startswith(">"):
        return text
    return text + ("5" if dp else ".5")


def _rate_text(rate_milli):
    # Tokens per second from milli-tokens per second, without trailing zeros.
    if rate_milli % 1000 == 0:
        return str(rate_milli // 1000)
    return fixed.to_text(rate_milli, 3).rstrip("0")


def _wait_text(level, rate_milli):
    # Seconds until the bucket holds one token again (rounded up to the ms): the refill
    # adds floor(dt_ns * rate_milli / 1000) nano-tokens.
    need = 1_000_000_000 - level
    wait_ns = -(-need * 1000 // rate_milli)
    return fixed.to_text(-(-wait_ns // 1_000_000), 3)


def _limit_dp(limit, dp):
    # The limit raw and dp with trailing zeros dropped ("5.0000000" -> "5").
    while dp > 0 and limit % 10 == 0:
        limit //= 10
        dp -= 1
    return limit, dp


def _notional_text(name, n2, ndp, price_dp, limit, limit_dp, quote):
    # "<name>: N op L QUOTE" with N = n2 / 2 at ndp shown at the price's decimals (or the
    # limit's, if finer or if N does not fit there), rounded away from the limit, so the
    # figure never looks allowed.
    limit, limit_dp = _limit_dp(limit, limit_dp)
    is_max = name == "max_notional"
    for d in (max(limit_dp, price_dp), limit_dp):
        num = n2 * 10**d
        den = 2 * 10**ndp
        shown = -(-num // den) if is_max else num // den
        lim = limit * 10 ** (d - limit_dp)
        if shown < INT64_MAX and lim < INT64_MAX:
            break
    op = ">" if is_max else "<"
    return f"{name}: {_amount(shown, d)} {op} {fixed.to_text(lim, d)}{quote}"


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
        Largest sum over slots of ``|position| * mid`` (orders that grow a position are
        valued at their limit price, market orders as for the notional), raw at
        `gross_dp`; 0 = no bound.
    gross_dp : int
        Decimals of gross notional figures, 0..18; every slot needs
        ``0 <= price_dp + qty_dp - gross_dp <= 18``.
    require_ref_px : bool
        Refuse every order of a slot without a mid (``no_market_data``). When False, limit
        orders without a mid skip the price band; market orders always need the mid.

    Raises
    ------
    ValueError
        A bad count, rate, burst or scale.
    """

    def __init__(self, int n_slots, double max_orders_per_s, double order_burst,
                 double max_cancels_per_s, double cancel_burst, int64_t max_gross=0,
                 int gross_dp=2, bint require_ref_px=True):
        cdef int i
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
        self._gross_sum = 0
        self.mode = MODE_ACTIVE
        self.require_ref_px = require_ref_px
        for i in range(<int>R_N_REASONS):
            self._n_reasons[i] = 0
        self._last.code = R_OK
        self._last.slot = -1

    def __dealloc__(self):
        free(self._slots)

    cdef int _refuse(self, int code, int slot, int side, bint is_market, px_t px, qty_t qty,
                     int64_t value) noexcept:
        self._n_reasons[code] += 1
        self._last.code = code
        self._last.slot = slot
        self._last.side = side
        self._last.is_market = is_market
        self._last.px = px
        self._last.qty = qty
        self._last.value = value
        if 0 <= slot < self.n_slots:
            self._last.mid_x2 = self._slots[slot].mid_x2
            self._last.position = self._slots[slot].position
        return code

    cpdef int configure(self, int slot, int price_dp, int qty_dp, px_t tick, qty_t step,
                        qty_t min_qty, qty_t max_qty, int64_t min_notional,
                        int min_notional_dp, int64_t max_notional, int max_notional_dp,
                        qty_t max_position, int64_t band_bps) except -1:
        """Set the limits of `slot` (its position and mid are kept).

        Parameters
        ----------
        slot : int
            0..n_slots-1.
        price_dp, qty_dp : int
            Scales of the instrument's prices and quantities, each 0..18, with
            ``gross_dp <= price_dp + qty_dp <= gross_dp + 18``.
        tick, step : int
            Price tick raw at price_dp, quantity step raw at qty_dp (> 0).
        min_qty, max_qty : int
            Order quantity bounds, raws at qty_dp; 0 = no bound (``max_qty`` is the
            ``max_order_qty`` rule).
        min_notional, min_notional_dp : int, int
            Smallest ``px * qty`` (quote asset), raw at its own decimals 0..18; 0 = none.
        max_notional, max_notional_dp : int, int
            Largest ``px * qty`` (quote asset), raw at its own decimals 0..18; 0 = none.
            Both notional limits are exact at any scale (compared in 128 bits).
        max_position : int
            Bound on ``|position|`` after the order, raw at qty_dp; 0 = no bound.
        band_bps : int
            Largest distance of a limit price from the mid, bps (0 = no band, 1..10000);
            market BUYs are valued at the mid raised by the band.

        Raises
        ------
        ValueError
            A slot, scale or limit out of range.
        """
        cdef SlotLimits* s
        cdef int ndp = price_dp + qty_dp
        if slot < 0 or slot >= self.n_slots:
            raise ValueError(f"slot={slot}: must be 0..{self.n_slots - 1}")
        if not 0 <= price_dp <= MAX_DP or not 0 <= qty_dp <= MAX_DP:
            raise ValueError(f"price_dp={price_dp} qty_dp={qty_dp}: each must be 0..18")
        if not self.gross_dp <= ndp <= self.gross_dp + MAX_DP:
            raise ValueError(f"price_dp + qty_dp = {ndp}: must be gross_dp={self.gross_dp} "
                             f"to gross_dp + 18")
        if not 0 <= min_notional_dp <= MAX_DP or not 0 <= max_notional_dp <= MAX_DP:
            raise ValueError(f"min_notional_dp={min_notional_dp} "
                             f"max_notional_dp={max_notional_dp}: each must be 0..18")
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
        s.min_notional_dp = min_notional_dp
        s.max_notional = max_notional
        s.max_notional_dp = max_notional_dp
        s.min_thr2 = _thr2(min_notional, min_notional_dp, ndp, True)
        s.max_thr2 = (_thr2(max_notional, max_notional_dp, ndp, False) if max_notional
                      else 2 * VELOZ_NOTIONAL_CAP)
        s.max_position = max_position
        s.band_bps = band_bps
        s.gross_unit2 = 2
        for _ in range(ndp - self.gross_dp):
            s.gross_unit2 *= 10
        s.is_configured = True
        self._set_gross(s)
        return 0

    cdef void _set_gross(self, SlotLimits* s) noexcept:
        cdef int64_t g = _slot_gross(s)
        self._gross_sum += <veloz_i128>g - s.gross  # n_slots <= 2**20: no overflow
        s.gross = g

    @property
    def gross_total(self):
        """Sum over slots of ``|position| * mid``, raw at gross_dp (saturated at int64)."""
        return _sat(self._gross_sum)

    cdef SlotLimits* _slot(self, int slot) except NULL:
        if slot < 0 or slot >= self.n_slots or not self._slots[slot].is_configured:
            raise ValueError(f"slot={slot}: not configured")
        return &self._slots[slot]

    cpdef int set_mid(self, int slot, px_t bid_px, px_t ask_px) except -1:
        """Record the best bid and ask of `slot`, raws at price_dp. O(1).

        The slot keeps ``bid + ask`` (twice the mid: exact at half a tick). A missing side
        (<= 0), a crossed pair or a sum past int64 forgets the mid instead.
        """
        cdef SlotLimits* s = self._slot(slot)
        if 0 < bid_px <= ask_px and bid_px <= INT64_MAX - ask_px:
            s.mid_x2 = bid_px + ask_px
        else:
            s.mid_x2 = 0
        self._set_gross(s)
        return 0

    cpdef int set_ref_px(self, int slot, px_t px) except -1:
        """Record a reference price (a last price) as the mid, raw at price_dp. O(1).

        ``px <= 0`` (or past int64 / 2) forgets it.
        """
        cdef SlotLimits* s = self._slot(slot)
        s.mid_x2 = 2 * px if 0 < px <= INT64_MAX // 2 else 0
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

        Rules in `Reason` order (mode, reduce-only, market data, tick, step, quantity,
        notional, band, position, gross, then the order rate, so a refused order costs no
        token). Notional is ``px * qty`` for a limit order; a market SELL is valued at the
        mid, a market BUY at the mid raised by the band (rounded up at half a tick). O(1).

        Parameters
        ----------
        slot : int
            The instrument's slot.
        side : int
            0 BUY, 1 SELL.
        is_market : bool
            MARKET (valued from the mid) versus priced.
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
        cdef int64_t mid_x2
        cdef veloz_i128 new_pos
        cdef veloz_i128 new_abs
        cdef veloz_i128 val_x2   # valuation price x2, raw at price_dp, < 2**64
        cdef veloz_i128 n2       # notional x2, raw at price_dp + qty_dp, < 2**127
        cdef veloz_i128 off
        cdef veloz_i128 g
        if slot < 0 or slot >= self.n_slots or not self._slots[slot].is_configured:
            return self._refuse(R_BAD_SLOT, slot, side, is_market, px, qty, 0)
        s = &self._slots[slot]
        if (side != BUY and side != SELL) or qty <= 0 or (not is_market and px <= 0):
            return self._refuse(R_BAD_INPUT, slot, side, is_market, px, qty, 0)
        mode = self.mode if self.mode > s.mode else s.mode
        if mode == MODE_HALTED:
            return self._refuse(R_HALTED, slot, side, is_market, px, qty, 0)
        if mode == MODE_CANCEL_ONLY:
            return self._refuse(R_CANCEL_ONLY, slot, side, is_market, px, qty, 0)
        pos = s.position
        new_pos = <veloz_i128>pos + qty if side == BUY else <veloz_i128>pos - qty
        new_abs = _abs128(new_pos)
        if mode == MODE_REDUCE_ONLY:
            if not ((pos > 0 and side == SELL and qty <= pos)
                    or (pos < 0 and side == BUY and qty <= -pos)):
                return self._refuse(R_REDUCE_ONLY, slot, side, is_market, px, qty, 0)
        mid_x2 = s.mid_x2
        if mid_x2 == 0 and (is_market or self.require_ref_px):
            return self._refuse(R_NO_MARKET_DATA, slot, side, is_market, px, qty, 0)
        if is_market:
            val_x2 = mid_x2
            if side == BUY:
                val_x2 = _ceil_div(val_x2 * (BPS + s.band_bps), BPS)
        else:
            if px % s.tick:
                return self._refuse(R_TICK, slot, side, is_market, px, qty, 0)
            val_x2 = 2 * <veloz_i128>px
        if qty % s.step:
            return self._refuse(R_STEP, slot, side, is_market, px, qty, 0)
        if qty < s.min_qty:
            return self._refuse(R_MIN_QTY, slot, side, is_market, px, qty, 0)
        if s.max_qty and qty > s.max_qty:
            return self._refuse(R_MAX_ORDER_QTY, slot, side, is_market, px, qty, 0)
        n2 = val_x2 * qty
        if n2 < s.min_thr2:
            return self._refuse(R_MIN_NOTIONAL, slot, side, is_market, px, qty, 0)
        if n2 > s.max_thr2:
            return self._refuse(R_MAX_NOTIONAL, slot, side, is_market, px, qty, 0)
        if not is_market and s.band_bps and mid_x2:
            off = _abs128(2 * <veloz_i128>px - mid_x2)
            if off * BPS > <veloz_i128>s.band_bps * mid_x2:
                return self._refuse(R_PRICE_BAND, slot, side, is_market, px, qty, 0)
        if new_abs > _abs128(<veloz_i128>pos):
            if s.max_position and new_abs > s.max_position:
                return self._refuse(R_POSITION_LIMIT, slot, side, is_market, px, qty, 0)
            if self.max_gross:
                # new_abs < 2**64 and val_x2 < 2**64: the product fits unsigned 128 bits.
                g = <veloz_i128>((<veloz_u128>new_abs * <veloz_u128>val_x2
                                  + <veloz_u128>(s.gross_unit2 - 1)) // <veloz_u128>s.gross_unit2)
                g += self._gross_sum - s.gross
                if g > self.max_gross:
                    return self._refuse(R_GROSS_LIMIT, slot, side, is_market, px, qty, _sat(g))
        if not _take(&self._orders, now_ns):
            return self._refuse(R_ORDER_RATE, slot, side, is_market, px, qty, self._orders.level)
        self._n_reasons[0] += 1
        return R_OK

    cpdef int check_cancel(self, ns_t now_ns) except -1:
        """Check one cancel (or cancel-all) against the cancel bucket; 0 = may go. O(1).

        Cancels pass in every mode: HALTED and CANCEL_ONLY exist to get orders off the book.
        """
        if not _take(&self._cancels, now_ns):
            return self._refuse(R_CANCEL_RATE, -1, 0, False, 0, 0, self._cancels.level)
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

    def mid_x2(self, int slot):
        """Return best bid + best ask of `slot` (twice the mid), raw at price_dp; 0 = none."""
        return self._slot(slot).mid_x2

    def ref_px(self, int slot):
        """Return the mid of `slot` rounded down, raw at price_dp (0 = unknown)."""
        return self._slot(slot).mid_x2 // 2

    def slot_gross(self, int slot):
        """Return ``|position| * mid`` of `slot` at gross_dp, rounded up."""
        return self._slot(slot).gross

    def slot_mode(self, int slot):
        """Return the slot's own `RiskMode`."""
        return self._slot(slot).mode

    def reason_text(self, int code, str base="", str quote=""):
        """Return the text the strategy sees for `code`, with figures of the last refusal.

        Starts with the rule name and ``": "``; the figures and units (`base`, `quote`: the
        slot's asset names, which the caller knows) appear when `code` is the code of the
        most recent refusal. Figures are exact, and a ``>`` refusal never shows a value at
        or under its limit. Cold path: builds Python strings.
        """
        cdef SlotLimits* s
        cdef Refusal r = self._last
        if not 0 <= code < R_N_REASONS:
            return f"unknown: reason code {code}"
        if code == R_OK:
            return "ok"
        name = REASON_NAMES[code]
        if code != r.code:
            return f"{name}: refused"
        b = f" {base}" if base else ""
        q = f" {quote}" if quote else ""
        if code == R_ORDER_RATE:
            return (f"order_rate: over {_rate_text(self._orders.rate_milli)} orders/s "
                    f"(next in {_wait_text(r.value, self._orders.rate_milli)} s)")
        if code == R_CANCEL_RATE:
            return (f"cancel_rate: over {_rate_text(self._cancels.rate_milli)} cancels/s "
                    f"(next in {_wait_text(r.value, self._cancels.rate_milli)} s)")
        if code == R_BAD_SLOT:
            return f"bad_slot: slot {r.slot} not configured ({self.n_slots} slots)"
        if code == R_BAD_INPUT:
            return (f"bad_input: need side 0/1, qty > 0, limit px > 0 "
                    f"(side={r.side} qty={r.qty} px={r.px})")
        if code in (R_HALTED, R_CANCEL_ONLY):
            return f"{name}: new orders are refused"
        if code == R_NO_MARKET_DATA:
            if r.is_market:
                return "no_market_data: a market order needs a mid"
            return "no_market_data: no BBO or book yet"
        s = &self._slots[r.slot]
        pdp = s.price_dp
        qdp = s.qty_dp
        # The order's figures as Python ints: exact past int64 (2 * px, |position + qty|).
        px = <object>r.px
        qty = <object>r.qty
        mid_x2 = <object>r.mid_x2
        pos = <object>r.position
        side = _SIDES[r.side]
        qty_txt = fixed.to_text(qty, qdp)
        if code == R_REDUCE_ONLY:
            return (f"reduce_only: {side} {qty_txt}{b} does not reduce position "
                    f"{fixed.to_text(pos, qdp)}{b}")
        if code == R_TICK:
            return (f"tick: {fixed.to_text(px, pdp)} not a multiple of "
                    f"{fixed.to_text(s.tick, pdp)}")
        if code == R_STEP:
            return f"step: {qty_txt} not a multiple of {fixed.to_text(s.step, qdp)}"
        if code == R_MIN_QTY:
            return f"min_qty: {qty_txt} < {fixed.to_text(s.min_qty, qdp)}{b}"
        if code == R_MAX_ORDER_QTY:
            return f"max_order_qty: {qty_txt} > {fixed.to_text(s.max_qty, qdp)}{b}"
        if code == R_PRICE_BAND:
            off_bps = -(-abs(2 * px - mid_x2) * 10_000 // mid_x2)  # rounded up: > max
            return (f"price_band: {fixed.to_text(px, pdp)} is {off_bps} bps from "
                    f"mid {_half_text(mid_x2, pdp)} (max {s.band_bps} bps)")
        if code == R_POSITION_LIMIT:
            new_abs = abs(pos + (qty if r.side == BUY else -qty))
            return (f"position_limit: |position| {_amount(new_abs, qdp)} > "
                    f"{fixed.to_text(s.max_position, qdp)}{b}")
        if code == R_GROSS_LIMIT:
            return (f"gross_limit: {_amount(r.value, self.gross_dp)} > "
                    f"{fixed.to_text(self.max_gross, self.gross_dp)}{q}")
        # min_notional / max_notional: the notional as check_new valued it, x2.
        if r.is_market:
            val_x2 = mid_x2
            if r.side == BUY:
                val_x2 = -(-val_x2 * (10_000 + s.band_bps) // 10_000)
        else:
            val_x2 = 2 * px
        if code == R_MIN_NOTIONAL:
            text = _notional_text(name, val_x2 * qty, pdp + qdp, pdp, s.min_notional,
                                  s.min_notional_dp, q)
        else:
            text = _notional_text(name, val_x2 * qty, pdp + qdp, pdp, s.max_notional,
                                  s.max_notional_dp, q)
        if r.is_market:
            text += f" (market {side} at {_half_text(val_x2, pdp)})"
        return text

    def check_invariants(self):
        """Raise InvariantError unless mids are sane and the gross total is the slot sum."""
        cdef veloz_i128 total = 0
        cdef int i
        cdef SlotLimits* s
        for i in range(self.n_slots):
            s = &self._slots[i]
            if not s.is_configured:
                continue
            if s.mid_x2 < 0 or s.min_thr2 < 0 or s.max_thr2 < 0 or s.gross_unit2 < 2:
                raise InvariantError(f"slot {i}: negative mid, threshold or unit")
            if s.gross != _slot_gross(s):
                raise InvariantError(f"slot {i}: stale gross figure")
            total += s.gross
        if total != self._gross_sum:
            raise InvariantError(f"gross_total={self.gross_total} != sum {_sat(total)}")
        return 0
