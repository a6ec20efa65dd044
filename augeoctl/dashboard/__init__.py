"""The live terminal dashboard (Textual). Imported only by `augeoctl dashboard`."""
