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
  function drawChart(entries, exits) {
    const el = document.getElementById('hourly-chart');
    if (!el || typeof window.uPlot !== 'function') return;
    const hours = entries.map((_, i) => i);
    const data = [hours, entries, exits];
    if (chart) {
      chart.setData(data);
      return;
    }
    const bars = window.uPlot.paths.bars({ size: [0.4, 24] });
    chart = new window.uPlot(
      {
        ...chartSize(el),
        scales: { x: { time: false } },
        axes: [{ values: (_, ticks) => ticks.map((h) => `${h}`) }, {}],
        series: [
          { label: 'h' },
          { label: el.dataset.entriesLabel, stroke: '#1a7f37', fill: 'rgba(26,127,55,0.35)', paths: bars },
          { label: el.dataset.exitsLabel, stroke: '#b35900', fill: 'rgba(179,89,0,0.35)', paths: bars },
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
  function fillRows(tableId, rows) {
    const body = document.querySelector(`#${tableId} tbody`);
    if (!body) return;
    body.replaceChildren(
      ...rows.map((cells) => {
        const tr = document.createElement('tr');
        for (const cell of cells) {
          const td = document.createElement('td');
          td.textContent = cell.text;
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
    setText('on-site-names', data.onSiteNames.join('、'));
    const latest = data.latest;
    const inLabel = document.documentElement.lang === 'en' ? 'In' : '进';
    const outLabel = document.documentElement.lang === 'en' ? 'Out' : '出';
    setText(
      'latest-punch',
      latest
        ? `${latest.at} ${latest.name} ${latest.direction === 'in' ? inLabel : outLabel} @ ${latest.terminalId}`
        : '—',
    );
    const alerts = document.getElementById('alerts');
    if (alerts) {
      const items = data.alerts.length ? data.alerts : [alerts.dataset.empty];
      alerts.replaceChildren(
        ...items.map((text) => {
          const li = document.createElement('li');
          li.textContent = text;
          if (!data.alerts.length) li.className = 'muted';
          return li;
        }),
      );
    }
    const terminals = document.getElementById('terminal-table');
    fillRows(
      'terminal-table',
      data.terminals.map((t) => [
        { text: t.id },
        {
          text: t.online ? terminals.dataset.online : terminals.dataset.offline,
          cls: t.online ? 'good' : 'bad',
        },
        { text: t.lastPunch },
        {
          text:
            t.clockOffsetSeconds === undefined || t.clockOffsetSeconds === null
              ? '—'
              : `${t.clockOffsetSeconds} s`,
        },
        { text: t.rosterSync || '—' },
      ]),
    );
    const upstreams = document.getElementById('upstream-table');
    fillRows(
      'upstream-table',
      data.upstreams.map((u) => [
        { text: u.name },
        {
          text: u.connected ? upstreams.dataset.connected : upstreams.dataset.disconnected,
          cls: u.connected ? 'good' : 'bad',
        },
        { text: String(u.backlog) },
        { text: u.lastSuccess },
        { text: u.configAlert || u.lastError || '—' },
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
