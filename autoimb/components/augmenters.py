"""Augmentation stage: new minority rows made from the minority itself, before resampling."""

from __future__ import annotations

from autoimb.components.base import Component, register

AUGMENTERS: dict[str, Component] = {}

register(AUGMENTERS, Component("none", "augmenter", lambda params, ctx: None, "No augmentation."))
