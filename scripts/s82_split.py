"""The fixed split of the 242 SDSS Stripe 82 RR Lyrae into a tuning half A and a
validation half B (issue 16): a star is in A when the first byte of the SHA-256 of its
id (the `id` of periods.csv, as text) is even, else in B. The rule looks at nothing but
the id, so it cannot favour any period or light curve.

    python3 scripts/s82_split.py [periods.csv]    # prints the size of each half
"""
import csv
import hashlib
import sys


def half_of(star_id: str) -> str:
    """'A' (tuning) or 'B' (validation) for a star id."""
    return "A" if hashlib.sha256(star_id.encode()).digest()[0] % 2 == 0 else "B"


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/sdss-s82-rrlyrae/periods.csv"
    ids = [r["id"] for r in csv.DictReader(open(path))]
    a = sum(half_of(i) == "A" for i in ids)
    print(f"A {a}  B {len(ids) - a}")
