"""Tornado handlers, thin: parse input, await a service, render."""
