"""Request parsers of the API: DRF's own, with JSON that cannot crash the server."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing JSON nested deeper than Python's decoder recurses.

    ``json.loads`` raises ``RecursionError`` on ``[`` × 1000, which DRF lets through as a 500;
    here it is the 400 of any other malformed body.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply") from error
