"""NewTypes the `.pyi` stubs use so every int says what it is."""

from typing import NewType

Px = NewType("Px", int)  # price raw at the instrument's price_dp
Qty = NewType("Qty", int)  # quantity raw at the instrument's qty_dp
Nanos = NewType("Nanos", int)  # nanoseconds
Seq = NewType("Seq", int)  # venue update id
InstId = NewType("InstId", int)  # instrument id inside one process
