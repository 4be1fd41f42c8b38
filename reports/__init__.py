"""storepulse reports: PDF rendering from the figures, series and rows it is given."""
