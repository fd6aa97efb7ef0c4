fetch("/openapi.json").then(r => r.json()).then(doc => {
  const root = document.getElementById("ops");
  root.textContent = "";
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const d = document.createElement("details");
      const s = document.createElement("summary");
      const m = document.createElement("span");
      m.className = "m " + method; m.textContent = method.toUpperCase();
      const p = document.createElement("code"); p.textContent = path;
      s.append(m, p, " — " + op.summary);
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify({requestBody: op.requestBody, parameters: op.parameters,
                                        responses: op.responses}, null, 2);
      d.append(s, pre); root.append(d);
    }
  }
});
