// The muster list's script: it refreshes the list by itself and prints it. The refresh swaps in
// the list as the server renders it (one renderer for the first view and every refresh): the
// server escapes every text, and a document made by DOMParser runs no script.
(() => {
  const muster = document.getElementById('muster');
  if (!muster) return;

  const print = document.getElementById('print-muster');
  if (print) {
    print.hidden = false;
    print.addEventListener('click', () => window.print());
  }

  // Not while the print dialog holds a snapshot of the page.
  let printing = false;
  window.addEventListener('beforeprint', () => {
    printing = true;
  });
  window.addEventListener('afterprint', () => {
    printing = false;
  });

  const every = Number(muster.dataset.refreshMs) || 30000;
  const refresh = async () => {
    try {
      if (!printing) {
        const response = await fetch(window.location.href, { headers: { Accept: 'text/html' } });
        // The session ended: the guard sent the request on to the login page.
        if (response.redirected && new URL(response.url).pathname === '/login') {
          window.location.href = '/login';
          return;
        }
        if (response.ok) {
          const fresh = new DOMParser()
            .parseFromString(await response.text(), 'text/html')
            .getElementById('muster');
          if (fresh) muster.replaceChildren(...fresh.childNodes);
        }
      }
    } catch {
      // Offline for a moment: the next tick tries again.
    }
    setTimeout(refresh, every);
  };
  setTimeout(refresh, every);
})();
