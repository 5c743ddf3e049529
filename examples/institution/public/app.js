// The page's script: xt-connect's drop-in button (connect.js, from xt-connect's own origin), and a
// reload once the person is connected so the server shows the connection and the balances.
const base = document.body.dataset.xtConnect;
const notice = document.getElementById('notice');

await import(`${base}/connect.js`); // defines <xt-connect-button>
document.addEventListener('xt-connect-success', () => location.reload());
document.addEventListener('xt-connect-exit', (e) => {
  notice.textContent =
    e.detail.status === 'declined' ? 'You declined at XT.COM. Nothing was connected.' : 'Closed before connecting.';
});
document.addEventListener('xt-connect-error', () => {
  notice.textContent = 'Something went wrong while connecting. Reload and try again.';
});
