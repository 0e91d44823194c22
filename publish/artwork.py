"""Show artwork: square RGB PNG, 1400-3000 px, no metadata (EXIF, GPS, ...) carried over."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from podcast.errors import InvalidInputError

MIN_PX, MAX_PX = 1400, 3000


def prepare(source: Path | None, title: str) -> bytes:
    """The cover as PNG bytes: the user's image made compliant, or a plain generated one."""
    if source is None:
        image = Image.new("RGB", (MIN_PX, MIN_PX), (46, 64, 87))
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default(size=96)
        words, lines, line = title.split(), [], ""
        for word in words:
            if len(line) + len(word) > 20 and line:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
        for index, text in enumerate(lines[:6]):
            draw.text((120, 400 + index * 130), text, fill=(250, 240, 220), font=font)
    else:
        try:
            with Image.open(source) as opened:
                image = opened.convert("RGB")
        except (OSError, UnidentifiedImageError):
            raise InvalidInputError(
                f"The artwork {source.name} cannot be read as an image.", hint="Use a JPEG or PNG file."
            ) from None
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        target = min(MAX_PX, max(MIN_PX, side))
        if target != side:
            image = image.resize((target, target), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", image.size)
    clean.paste(image)  # a fresh image: no EXIF, ICC or text chunks
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()
