"""storepulse dashboard: the Plotly Dash app, which knows the product only through the HTTP API."""
