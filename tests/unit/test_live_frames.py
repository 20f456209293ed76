"""A live message is encoded once for thousands of pages: its frame is the plain text frame
a WebSocket client reads (RFC 6455 §5.2: FIN, opcode 1, no mask, the length in 7, 16 or
64 bits), whatever the message's size."""

from __future__ import annotations

import json
import struct

import pytest

from extends.live import Encoded


def read_frame(frame: bytes) -> tuple[int, str]:
    """(first byte, text) of one unmasked server frame, as a client parses it."""
    first, second = frame[0], frame[1]
    assert second & 0x80 == 0, "a server never masks"
    size, offset = second & 0x7F, 2
    if size == 126:
        (size,) = struct.unpack("!H", frame[2:4])
        offset = 4
    elif size == 127:
        (size,) = struct.unpack("!Q", frame[2:10])
        offset = 10
    assert len(frame) == offset + size
    return first, frame[offset:].decode()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_every_size_reads_back_as_one_text_frame(size):
    text = json.dumps({"type": "comment", "html": "评" * (size // 3) + "x" * (size % 3)})
    encoded = Encoded.text(text)
    first, read = read_frame(encoded.frame)
    assert first == 0x81  # FIN and text
    assert read == text
    assert encoded.payload == text.encode()
