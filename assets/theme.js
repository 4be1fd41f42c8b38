/* The dark theme follows the system setting (prefers-color-scheme), live: Bootstrap reads
   data-bs-theme, AG Grid data-ag-theme-mode, both on <html>. */
(function () {
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function apply() {
    var mode = query && query.matches ? "dark" : "light";
    document.documentElement.setAttribute("data-bs-theme", mode);
    document.documentElement.setAttribute("data-ag-theme-mode", mode);
  }
  apply();
  if (query && query.addEventListener) {
    query.addEventListener("change", apply);
  }
})();
