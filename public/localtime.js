// Shows every <time data-local> in the reader's own time zone and language.
document.querySelectorAll('time[data-local]').forEach(function (el) {
  var d = new Date(el.getAttribute('datetime'));
  if (isNaN(d.getTime())) return;
  el.textContent = d.toLocaleString(document.documentElement.lang || undefined, { dateStyle: 'medium', timeStyle: 'short' });
  el.title = d.toISOString();
});
