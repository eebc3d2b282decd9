// The attendance sheet's print view: its print button (a page script, since the page allows no inline one).
(() => {
  const button = document.getElementById('print-now');
  if (button) button.addEventListener('click', () => window.print());
})();
