// The page's only script: dashboard refresh and chart, enrolment progress, camera capture,
// confirmations. Everything it writes into the page goes through textContent, never innerHTML.
(() => {
  // A punch shows within a poll of its terminal plus this.
  const REFRESH_MS = 1000;

  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // ── dashboard ──
  const dashboard = document.getElementById('dashboard');
  let chart;
  function chartSize(el) {
    return { width: Math.max(260, el.clientWidth), height: 220 };
  }
  // Entries and exits of an hour stand side by side, each filling just under half the hour's
  // column: entries left of the hour's centre (align -1), exits right of it (align 1).
  const ENTRY_COLOUR = '#1a7f37';
  const EXIT_COLOUR = '#c2570c';
  function drawChart(entries, exits) {
    const el = document.getElementById('hourly-chart');
    if (!el || typeof window.uPlot !== 'function') return;
    const hours = entries.map((_, i) => i);
    const data = [hours, entries, exits];
    if (chart) {
      chart.setData(data);
      return;
    }
    const bars = (align) => window.uPlot.paths.bars({ size: [0.42, 18], align });
    const hourText = (h) => el.dataset.hourFormat.replace('{n}', String(h));
    chart = new window.uPlot(
      {
        ...chartSize(el),
        scales: { x: { time: false, range: (_, min, max) => [min - 0.5, max + 0.5] } },
        axes: [
          { values: (_, ticks) => ticks.map((h) => (Number.isInteger(h) ? hourText(h) : '')) },
          { values: (_, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : '')) },
        ],
        series: [
          { label: el.dataset.hourLabel, value: (_, h) => (h == null ? '—' : hourText(h)) },
          {
            label: el.dataset.entriesLabel,
            stroke: ENTRY_COLOUR,
            fill: ENTRY_COLOUR,
            paths: bars(-1),
            points: { show: false },
          },
          {
            label: el.dataset.exitsLabel,
            stroke: EXIT_COLOUR,
            fill: EXIT_COLOUR,
            paths: bars(1),
            points: { show: false },
          },
        ],
      },
      data,
      el,
    );
    window.addEventListener('resize', () => chart.setSize(chartSize(el)));
  }
  function setText(id, value) {
    const el = document.getElementById(id);
    if (el && el.textContent !== value) el.textContent = value;
  }
  // A message and a peer's own words beside it, as the server renders them (SaidText).
  function saidNodes(said) {
    const nodes = [document.createTextNode(said.text)];
    if (said.raw) {
      const raw = document.createElement('small');
      raw.className = 'raw';
      raw.setAttribute('translate', 'no');
      raw.textContent = said.raw;
      nodes.push(document.createTextNode(' '), raw);
    }
    return nodes;
  }
  function fillRows(tableId, rows) {
    const body = document.querySelector(`#${tableId} tbody`);
    if (!body) return;
    body.replaceChildren(
      ...rows.map((cells) => {
        const tr = document.createElement('tr');
        for (const cell of cells) {
          const td = document.createElement('td');
          if (cell.said) td.append(...saidNodes(cell.said));
          else td.textContent = cell.text;
          if (cell.cls) td.className = cell.cls;
          tr.append(td);
        }
        return tr;
      }),
    );
  }
  function render(data) {
    setText('on-site', String(data.onSite));
    setText('entries-today', String(data.entriesToday));
    setText('exits-today', String(data.exitsToday));
    setText('on-site-names', data.onSiteNames.join(data.lang === 'en' ? ', ' : '、'));
    const latest = data.latest;
    setText(
      'latest-punch',
      latest ? `${latest.at} ${latest.name} ${latest.directionText} · ${latest.terminalName}` : '—',
    );
    const alerts = document.getElementById('alerts');
    if (alerts) {
      alerts.replaceChildren(
        ...(data.alerts.length ? data.alerts : [undefined]).map((alert) => {
          const li = document.createElement('li');
          if (alert) {
            li.dataset.code = alert.code;
            li.append(...saidNodes(alert.said));
          } else {
            li.textContent = alerts.dataset.empty;
            li.className = 'muted';
          }
          return li;
        }),
      );
    }
    fillRows(
      'terminal-table',
      data.terminals.map((t) => [
        { text: t.name },
        { text: t.status, cls: t.online ? 'good' : 'bad' },
        { text: t.lastPunch },
        { text: t.clockOffset },
        { said: t.rosterSync },
      ]),
    );
    fillRows(
      'upstream-table',
      data.upstreams.map((u) => [
        { text: u.label },
        { text: u.status, cls: u.connected ? 'good' : 'bad' },
        { text: String(u.backlog) },
        { text: u.lastSuccess },
        { said: u.problem },
      ]),
    );
    drawChart(data.entries, data.exits);
  }
  if (dashboard) {
    const el = document.getElementById('hourly-chart');
    if (el) drawChart(JSON.parse(el.dataset.entries), JSON.parse(el.dataset.exits));
    const refresh = async () => {
      try {
        const response = await fetch(dashboard.dataset.refresh, { headers: { Accept: 'application/json' } });
        if (response.status === 401) {
          window.location.href = '/login';
          return;
        }
        if (response.ok) render(await response.json());
      } catch {
        // Offline for a moment: the next tick tries again.
      }
      setTimeout(refresh, REFRESH_MS);
    };
    setTimeout(refresh, REFRESH_MS);
  }

  // ── enrolment progress ──
  const enrolment = document.getElementById('enrolment');
  if (enrolment?.dataset.poll) {
    const poll = async () => {
      try {
        const response = await fetch(enrolment.dataset.poll);
        const job = await response.json();
        if (job.state && job.state !== 'waiting') {
          window.location.reload();
          return;
        }
      } catch {}
      setTimeout(poll, 1500);
    };
    setTimeout(poll, 1500);
  }

  // ── the chosen picture's name beside its (hidden) file field ──
  for (const input of document.querySelectorAll(
    'fieldset.photo input[type=file], fieldset.upload input[type=file]',
  )) {
    const shown = input.closest('fieldset').querySelector('[data-file-name]');
    const none = shown?.textContent ?? '';
    input.addEventListener('change', () => {
      if (shown) shown.textContent = input.files?.[0]?.name ?? none;
    });
  }

  // ── camera capture into a file input ──
  for (const button of document.querySelectorAll('button[data-camera]')) {
    if (!navigator.mediaDevices?.getUserMedia) {
      button.hidden = true;
      continue;
    }
    button.addEventListener('click', async () => {
      const fieldset = button.closest('fieldset');
      const input = fieldset.querySelector('input[type=file]');
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      } catch (error) {
        window.alert(String(error));
        return;
      }
      const video = document.createElement('video');
      video.autoplay = true;
      video.playsInline = true;
      video.srcObject = stream;
      video.className = 'preview';
      const take = document.createElement('button');
      take.type = 'button';
      take.textContent = button.dataset.captureLabel;
      fieldset.append(video, take);
      take.addEventListener('click', () => {
        const canvas = document.createElement('canvas');
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        canvas.getContext('2d').drawImage(video, 0, 0);
        canvas.toBlob(
          (blob) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([blob], `${input.name}.jpg`, { type: 'image/jpeg' }));
            input.files = transfer.files;
            input.dispatchEvent(new Event('change'));
            for (const track of stream.getTracks()) track.stop();
            const img = document.createElement('img');
            img.className = 'preview';
            img.src = URL.createObjectURL(blob);
            video.replaceWith(img);
            take.remove();
          },
          'image/jpeg',
          0.85,
        );
      });
    });
  }
})();
