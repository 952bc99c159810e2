"""ip6opts.py — IPv6 extension headers for crafted packets, shared by the
fuzz seeds (tests/fuzz/packet_seeds.py) and the kernel scenario
21_packet_classify (tests/kernel/packet_classify.py)."""


def opt(nh, total):
    """An options header (hop-by-hop / destination) of TOTAL bytes (a
    multiple of 8), padded with PadN options; NH is the next header."""
    body = total - 2
    pads = b""
    while body > 0:
        n = min(body, 257)
        if body - n == 1:
            n -= 2
        pads += bytes([1, n - 2]) + bytes(n - 2)
        body -= n
    return bytes([nh, total // 8 - 1]) + pads
