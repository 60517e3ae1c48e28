import atexit, cProfile, os
from wsgi import app as _app
prof = cProfile.Profile()
METHOD = os.environ.get("PROF_METHOD", "POST")
def app(environ, start_response):
    if environ.get("REQUEST_METHOD") != METHOD or not environ.get("PATH_INFO", "").startswith("/questions/"):
        return _app(environ, start_response)
    prof.enable()
    try:
        return _app(environ, start_response)
    finally:
        prof.disable()
atexit.register(lambda: prof.dump_stats(os.environ.get("PROF_OUT", "/tmp/perf/gunicorn.prof")))
