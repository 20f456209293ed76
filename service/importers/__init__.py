"""Importers of other blogs' exports (WordPress WXR, Ghost JSON) into Inkwell."""
