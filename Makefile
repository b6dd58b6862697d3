# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# The settings default to production mode, which refuses to start without a real SECRET_KEY and
# ALLOWED_HOSTS; these helpers are for a developer's machine and CI, so they ask for development
# mode (runserver, seed_demo, makemigrations --check, ...). A value in the environment wins.
export DJANGO_DEBUG ?= true

# Front-end packages vendored from the npm registry into static/vendor (no CDN on intranets).
VENDOR_TMP := $(shell mktemp -d -u)
VENDOR_PACKAGES := bootstrap@5.3.9 htmx.org@2.0.11 echarts@5.6.0

.PHONY: run test screenshots check venv install migrate seed serve worker beat vendor messages bench load clean

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "Python 3.11 is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

venv install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

run: seed serve

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The pictures of the user guide (static/guide/) and of the README (docs/screenshots/), taken by the
# browser tests on the demo province; the other browser tests keep theirs under test-artifacts/.
screenshots: install
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest guide/tests/test_browser_guide.py

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The benchmark needs a database of its own, e.g.
#   createdb -h 127.0.0.1 -U postgres cchc_bench
#   make bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/cchc_bench SCALE=province
SCALE ?= province
bench: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bench --scale $(SCALE)

# The reporting deadline under load (gunicorn + PostgreSQL on loopback), on a database of its own:
#   make load DATABASE_URL=postgres://postgres@127.0.0.1:5432/cchc_load
load: install
	$(PY) bench/load.py $(if $(DATABASE_URL),--database-url $(DATABASE_URL))

worker: install
	$(VENV)/bin/celery -A cchc_portal worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A cchc_portal beat --loglevel=INFO

messages: install
	$(PY) manage.py makemessages --locale vi --locale en --ignore '.venv/*' --no-obsolete
	$(PY) manage.py compilemessages --ignore '.venv/*'

vendor:
	rm -rf $(VENDOR_TMP) && mkdir -p $(VENDOR_TMP)
	cd $(VENDOR_TMP) && npm pack --silent $(VENDOR_PACKAGES) && for f in *.tgz; do mkdir -p $${f%.tgz} && tar xzf $$f -C $${f%.tgz}; done
	mkdir -p static/vendor/bootstrap static/vendor/htmx
	cp $(VENDOR_TMP)/bootstrap-*/package/dist/css/bootstrap.min.css static/vendor/bootstrap/
	cp $(VENDOR_TMP)/bootstrap-*/package/dist/js/bootstrap.bundle.min.js static/vendor/bootstrap/
	cp $(VENDOR_TMP)/bootstrap-*/package/LICENSE static/vendor/bootstrap/LICENSE
	cp $(VENDOR_TMP)/htmx.org-*/package/dist/htmx.min.js static/vendor/htmx/
	cp $(VENDOR_TMP)/htmx.org-*/package/LICENSE static/vendor/htmx/LICENSE
	mkdir -p static/vendor/echarts
	cp $(VENDOR_TMP)/echarts-*/package/dist/echarts.min.js static/vendor/echarts/
	cp $(VENDOR_TMP)/echarts-*/package/i18n/langVI.js static/vendor/echarts/
	cp $(VENDOR_TMP)/echarts-*/package/LICENSE static/vendor/echarts/LICENSE
	# The source maps are not shipped: drop the references, or collectstatic's manifest fails.
	sed -i '/^\/[\/*]# sourceMappingURL=/d' static/vendor/*/*.min.*

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
