"""One module per page: ``dash.register_page`` and a ``layout`` function of the URL's query."""
