"""Fits the Chebyshev coefficients of runtime/src/normal.rs (needs mpmath; run with python3).

Each piece is the Chebyshev interpolant of a smooth function at n Chebyshev points of its
interval, computed with 40 significant digits and printed as Rust arrays (coefficient k of T_k,
shortest round-trip f64 spelling):

- ERF_SMALL: erf(z) / z as a function of w = z^2 on [0, 1/4]  (|z| <= 1/2);
- ERFCX_*:   erfcx(z) = e^(z^2) erfc(z) on [1/2, 1], [1, 2] and [2, 4];
- ERFCX_FAR: z erfcx(z) as a function of u = 1/z on [1/28, 1/4]  (4 <= z <= 28).
"""
import mpmath as mp

mp.mp.dps = 40


def chebyshev(f, a, b, n):
    xs = [mp.cos(mp.pi * (j + mp.mpf(1) / 2) / n) for j in range(n)]
    fs = [f((b - a) / 2 * x + (a + b) / 2) for x in xs]
    c = [2 * mp.fsum(fs[j] * mp.cos(mp.pi * k * (j + mp.mpf(1) / 2) / n) for j in range(n)) / n
         for k in range(n)]
    c[0] /= 2
    return c


def erfcx(z):
    return mp.erfc(z) * mp.exp(z * z)


def erf_over_z(w):
    return mp.erf(mp.sqrt(w)) / mp.sqrt(w) if w > 0 else 2 / mp.sqrt(mp.pi)


PIECES = [
    ("ERF_SMALL", erf_over_z, 0, mp.mpf(1) / 4, 10),
    ("ERFCX_HALF_ONE", erfcx, mp.mpf(1) / 2, 1, 14),
    ("ERFCX_ONE_TWO", erfcx, 1, 2, 17),
    ("ERFCX_TWO_FOUR", erfcx, 2, 4, 19),
    ("ERFCX_FAR", lambda u: erfcx(1 / u) / u, mp.mpf(1) / 28, mp.mpf(1) / 4, 16),
]

for name, f, a, b, n in PIECES:
    c = chebyshev(f, mp.mpf(a), mp.mpf(b), n)
    print(f"const {name}: [f64; {n}] = [")
    for x in c:
        print(f"    {repr(float(x))},")
    print("];")
