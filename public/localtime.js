// Shows every <time data-local> in the reader's own time zone and language
// (data-local="date": the date alone; anything else: date and time).
document.querySelectorAll('time[data-local]').forEach(function (el) {
  var d = new Date(el.getAttribute('datetime'));
  if (isNaN(d.getTime())) return;
  var style =
    el.getAttribute('data-local') === 'date' ? { dateStyle: 'long' } : { dateStyle: 'medium', timeStyle: 'short' };
  el.textContent = d.toLocaleString(document.documentElement.lang || undefined, style);
  el.title = d.toISOString();
});
