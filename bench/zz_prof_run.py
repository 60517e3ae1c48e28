import sys, tempfile, shutil, os, pstats
from pathlib import Path
import _common as c
import bench_pages as bp
method = sys.argv[1] if len(sys.argv) > 1 else "POST"
workdir = Path(tempfile.mkdtemp(prefix="prof_"))
(workdir / "app").mkdir()
uri = f"sqlite:///{workdir / 'app' / 'p.db'}"
c.migrate_in_process(uri)
app = c.BenchServer(workdir / "app", database_uri=uri, workers=1, gunicorn_args=["--max-requests", "0"], name="app", migrate=False,
                    app_module="bench.zz_prof_wsgi:app", env={"PROF_METHOD": method, "PROF_OUT": "/tmp/perf/gunicorn.prof"})
f = c.Failures()
app.start()
cookie, body, _ = bp.patient_session(app, f)
spec = {"url": app.url("/questions/urgent"), "cookie": cookie}
if method == "POST": spec.update(method="POST", body=body, expect=302)
else: spec.update(expect=200)
cpu0 = app.cpu_seconds()
r = c.wrk_load(seconds=4, **spec)
cpu = app.cpu_seconds() - cpu0
print(method, r.requests, "requests", f"{r.requests/cpu:.0f} per CPU s (profiled)")
app.stop()
st = pstats.Stats("/tmp/perf/gunicorn.prof"); st.strip_dirs().sort_stats("cumulative").print_stats(40)
