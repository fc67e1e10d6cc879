"""AccountViews: the account and position bodies of the simulated exchange, without I/O.

Owns the REST shapes of spot ``account`` and the USD-M balance, positionRisk, account (V2 and
V3) and leverageBracket answers, and the USD-M ``ACCOUNT_UPDATE`` event. Read-only: it must
not change balances or positions (`veloz.sim.exchange` settles fills) and never matches.
"""

from collections.abc import Mapping
from typing import Any

from veloz._core.position import Position
from veloz._core.units import Px
from veloz.sim.accounts import FEES_PPM
from veloz.sim.accounts import FuturesAccount
from veloz.sim.accounts import SpotAccount
from veloz.sim.accounts import dec_text
from veloz.sim.accounts import to_money
from veloz.sim.errors import BinanceApiError
from veloz.sim.feed import SimFeed
from veloz.sim.feed import Sym

__all__ = ["AccountViews"]


def _money(sym: Sym, raw: int) -> int:
    # A signed raw at the symbol's notional dp (PnL, notional) at MONEY_DP.
    return to_money(raw, sym.inst.notional_dp)


def _upnl(pos: Position, mark_px: int) -> int:
    # Unrealized PnL raw at notional dp; Position refuses mark 0, which only a flat position
    # of a symbol that has never traded can meet.
    return 0 if pos.is_flat else pos.unrealized_pnl(Px(mark_px))


class AccountViews:
    """Account and position answers of one venue's accounts.

    Parameters
    ----------
    venue : {"spot", "usdm"}
        API whose shapes apply.
    feed : SimFeed
        Resolves symbols and mark prices.
    syms : dict of str to Sym
        The exchange's symbols, shared.
    spot, fut : dict of int to account
        The exchange's accounts by id, shared.
    """

    def __init__(
        self,
        venue: str,
        feed: SimFeed,
        syms: dict[str, Sym],
        spot: dict[int, SpotAccount],
        fut: dict[int, FuturesAccount],
    ) -> None:
        self.venue = venue
        self._feed = feed
        self._syms = syms
        self._spot = spot
        self._fut = fut

    def check_account(self, account_id: int) -> None:
        """Raise -2015 unless `account_id` is an account of this venue."""
        if account_id not in (self._spot if self.venue == "spot" else self._fut):
            raise BinanceApiError(-2015)

    def account_update(self, account: int, sym: Sym, now_ms: int) -> dict[str, Any]:
        """Return the USD-M ``ACCOUNT_UPDATE`` of `account` after a fill on `sym`."""
        fut = self._fut[account]
        wb = sym.fmt.money(fut.wallet)
        pos = fut.position(sym.inst)
        ep = dec_text(pos.entry_px, sym.inst.price_dp, 8)
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now_ms,
            "T": now_ms,
            "a": {
                "m": "ORDER",
                "B": [{"a": "USDT", "wb": wb, "cw": wb, "bc": "0"}],
                "P": [
                    {
                        "s": sym.inst.symbol,
                        "pa": sym.fmt.qty(pos.qty),
                        "ep": ep,
                        "bep": ep,
                        "cr": sym.fmt.money(_money(sym, pos.realized_pnl)),
                        "up": sym.fmt.money(_money(sym, _upnl(pos, self._feed.mark_px(sym)))),
                        "mt": "cross",
                        "iw": "0",
                        "ps": "BOTH",
                    }
                ],
            },
        }

    def account(self, account_id: int) -> dict[str, Any]:
        """Return the spot ``GET /api/v3/account`` body."""
        self.check_account(account_id)
        acct = self._spot[account_id]
        rate = dec_text(FEES_PPM["spot"][1], 6, 8)
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": rate,
                "taker": rate,
                "buyer": dec_text(0, 0, 8),
                "seller": dec_text(0, 0, 8),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": acct.update_ms,
            "accountType": "SPOT",
            "balances": [acct.row(a) for a in sorted(acct.free)],
            "permissions": ["SPOT"],
            "uid": account_id,
        }

    def _unrealized(self, fut: FuturesAccount) -> int:
        return sum(
            _money(self._syms[s], _upnl(p, self._feed.mark_px(self._syms[s])))
            for s, p in fut.positions.items()
        )

    def futures_balance(self, account_id: int) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v2/balance`` body (the USDT row)."""
        self.check_account(account_id)
        fut = self._fut[account_id]
        fmt = next(iter(self._syms.values())).fmt
        wb = fmt.money(fut.wallet)
        return [
            {
                "accountAlias": "SgsR",
                "asset": "USDT",
                "balance": wb,
                "crossWalletBalance": wb,
                "crossUnPnl": fmt.money(self._unrealized(fut)),
                "availableBalance": fmt.money(fut.wallet + self._unrealized(fut)),
                "maxWithdrawAmount": wb,
                "marginAvailable": True,
                "updateTime": fut.update_ms,
            }
        ]

    def position_risk(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v2/positionRisk`` rows (one-way, cross, 20x)."""
        self.check_account(account_id)
        fut = self._fut[account_id]
        syms = [self._feed.sym(params)] if params.get("symbol") else list(self._syms.values())
        out = []
        for sym in syms:
            pos = fut.position(sym.inst)
            mark = self._feed.mark_px(sym)
            ep = dec_text(pos.entry_px, sym.inst.price_dp, 8)
            out.append(
                {
                    "symbol": sym.inst.symbol,
                    "positionAmt": sym.fmt.qty(pos.qty),
                    "entryPrice": ep,
                    "breakEvenPrice": ep,
                    "markPrice": dec_text(mark, sym.inst.price_dp, 8),
                    "unRealizedProfit": sym.fmt.money(_money(sym, _upnl(pos, mark))),
                    "liquidationPrice": "0",
                    "leverage": "20",
                    "maxNotionalValue": "250000",
                    "marginType": "cross",
                    "isolatedMargin": "0.00000000",
                    "isAutoAddMargin": "false",
                    "positionSide": "BOTH",
                    "notional": sym.fmt.money(
                        _money(sym, 0 if pos.is_flat else pos.notional(Px(mark)))
                    ),
                    "isolatedWallet": "0",
                    "updateTime": fut.position_ms.get(sym.inst.symbol, 0),
                }
            )
        return out

    def futures_account(self, account_id: int) -> dict[str, Any]:
        """Return a USD-M ``GET /fapi/v2/account`` body (no margin model: margins are 0)."""
        self.check_account(account_id)
        fut = self._fut[account_id]
        fmt = next(iter(self._syms.values())).fmt
        wb = fmt.money(fut.wallet)
        up = fmt.money(self._unrealized(fut))
        avail = fmt.money(fut.wallet + self._unrealized(fut))
        zero = fmt.money(0)
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": fut.update_ms,
            "multiAssetsMargin": False,
            "totalInitialMargin": zero,
            "totalMaintMargin": zero,
            "totalWalletBalance": wb,
            "totalUnrealizedProfit": up,
            "totalMarginBalance": avail,
            "totalPositionInitialMargin": zero,
            "totalOpenOrderInitialMargin": zero,
            "totalCrossWalletBalance": wb,
            "totalCrossUnPnl": up,
            "availableBalance": avail,
            "maxWithdrawAmount": wb,
            "assets": [
                {
                    "asset": "USDT",
                    "walletBalance": wb,
                    "unrealizedProfit": up,
                    "marginBalance": avail,
                    "maintMargin": zero,
                    "initialMargin": zero,
                    "positionInitialMargin": zero,
                    "openOrderInitialMargin": zero,
                    "crossWalletBalance": wb,
                    "crossUnPnl": up,
                    "availableBalance": avail,
                    "maxWithdrawAmount": wb,
                    "marginAvailable": True,
                    "updateTime": fut.update_ms,
                }
            ],
            "positions": [
                {
                    "symbol": r["symbol"],
                    "initialMargin": zero,
                    "maintMargin": zero,
                    "unrealizedProfit": r["unRealizedProfit"],
                    "positionInitialMargin": zero,
                    "openOrderInitialMargin": zero,
                    "leverage": "20",
                    "isolated": False,
                    "entryPrice": r["entryPrice"],
                    "maxNotional": "250000",
                    "positionSide": "BOTH",
                    "positionAmt": r["positionAmt"],
                    "notional": r["notional"],
                    "isolatedWallet": "0",
                    "updateTime": r["updateTime"],
                }
                for r in self.position_risk(account_id, {})
            ],
        }

    def _is_active(self, account_id: int, sym: Sym) -> bool:
        # V3 account endpoints list a symbol only with a position or an open order.
        if self._fut[account_id].position(sym.inst).qty:
            return True
        return any(o.account == account_id and o.is_open for o in sym.orders.values())

    def position_risk_v3(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v3/positionRisk`` rows: only symbols with a position
        or open orders (Binance's V3 rule), no leverage fields."""
        self.check_account(account_id)
        syms = [self._feed.sym(params)] if params.get("symbol") else list(self._syms.values())
        zero = next(iter(self._syms.values())).fmt.money(0)
        out = []
        for sym in syms:
            if not self._is_active(account_id, sym):
                continue
            (r,) = self.position_risk(account_id, {"symbol": sym.inst.symbol})
            out.append(
                {
                    "symbol": r["symbol"],
                    "positionSide": "BOTH",
                    "positionAmt": r["positionAmt"],
                    "entryPrice": r["entryPrice"],
                    "breakEvenPrice": r["breakEvenPrice"],
                    "markPrice": r["markPrice"],
                    "unRealizedProfit": r["unRealizedProfit"],
                    "liquidationPrice": "0",
                    "isolatedMargin": zero,
                    "notional": r["notional"],
                    "marginAsset": sym.inst.quote,
                    "isolatedWallet": "0",
                    "initialMargin": zero,
                    "maintMargin": zero,
                    "positionInitialMargin": zero,
                    "openOrderInitialMargin": zero,
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "updateTime": r["updateTime"],
                }
            )
        return out

    def futures_account_v3(self, account_id: int) -> dict[str, Any]:
        """Return a USD-M ``GET /fapi/v3/account`` body: V2's totals and assets without the
        account flags, positions only for symbols with a position or open orders."""
        v2 = self.futures_account(account_id)
        for flag in ("feeTier", "canTrade", "canDeposit", "canWithdraw", "updateTime"):
            del v2[flag]
        del v2["multiAssetsMargin"]
        for asset in v2["assets"]:
            del asset["marginAvailable"]
        active = {s for s, sym in self._syms.items() if self._is_active(account_id, sym)}
        v2["positions"] = [
            {
                "symbol": p["symbol"],
                "positionSide": "BOTH",
                "positionAmt": p["positionAmt"],
                "unrealizedProfit": p["unrealizedProfit"],
                "isolatedMargin": v2["totalInitialMargin"],  # no margin model: zero
                "notional": p["notional"],
                "isolatedWallet": "0",
                "initialMargin": p["initialMargin"],
                "maintMargin": p["maintMargin"],
                "updateTime": p["updateTime"],
            }
            for p in v2["positions"]
            if p["symbol"] in active
        ]
        return v2

    def leverage_bracket(self, account_id: int, params: Mapping[str, str]) -> Any:
        """Return USD-M ``GET /fapi/v1/leverageBracket``: one bracket per symbol matching the
        fixed 20x, 250 000 notional cap and 2.5 % maintenance that positionRisk and
        exchangeInfo state; an object for one ``symbol``, else a list."""
        self.check_account(account_id)

        def row(sym: Sym) -> dict[str, Any]:
            bracket = {
                "bracket": 1,
                "initialLeverage": 20,
                "notionalCap": 250000,
                "notionalFloor": 0,
                "maintMarginRatio": 0.025,
                "cum": 0.0,
            }
            return {"symbol": sym.inst.symbol, "notionalCoef": 1.0, "brackets": [bracket]}

        if params.get("symbol"):
            return row(self._feed.sym(params))
        return [row(s) for s in self._syms.values()]
