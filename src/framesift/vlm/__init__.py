"""Video-language models loaded once and shared by the selectors and answerers that use them."""
