// The owner's page works without this file; it only asks before destructive buttons
// (forms with data-confirm) and opens the print dialog on the voucher sheet.
document.addEventListener('submit', function (e) {
  var q = e.target.getAttribute('data-confirm');
  if (q && !window.confirm(q)) e.preventDefault();
});
document.addEventListener('click', function (e) {
  if (e.target.closest('[data-print]')) { e.preventDefault(); window.print(); }
});
