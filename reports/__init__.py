"""storepulse reports: PDF rendering from the figures, series and rows it is given.

:func:`reports.pdf.render_pdf` draws a report (:class:`reports.model.ReportData`);
:func:`reports.digest.compose` writes a digest e-mail. Neither fetches anything.
"""
