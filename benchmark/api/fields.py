"""Serializer fields that take JSON's types as the schema states them.

DRF's own fields coerce: ``BooleanField`` takes ``0``, ``"yes"`` and ``"on"``, ``IntegerField``
takes ``"7"`` and ``7.0``, ``FloatField`` takes ``"0.5"``. A body the schema calls invalid is
then accepted, and a client's bug goes unnoticed; these fields refuse what the schema refuses.
"""

from typing import Any

from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictFloatField(serializers.FloatField):
    default_error_messages = {"invalid": "A JSON number is required."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class StrictCharField(serializers.CharField):
    """Text only: DRF's ``CharField`` turns the numbers ``7`` and ``0.5`` into strings."""

    default_error_messages = {"not_text": "A JSON string is required."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        return str(super().to_internal_value(data))


class StrictURLField(serializers.URLField):
    """A URL, as a JSON string only (see :class:`StrictCharField`)."""

    default_error_messages = {"not_text": "A JSON string is required."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        return str(super().to_internal_value(data))
