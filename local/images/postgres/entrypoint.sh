#!/bin/sh
# PostgreSQL entrypoint, compatible with the official image's environment: POSTGRES_PASSWORD
# (required on first start), POSTGRES_USER (default postgres), POSTGRES_DB (default the user),
# PGDATA, PGPORT. On first start it runs initdb (UTF8; password auth with scram-sha-256 for host
# connections, trust on the local socket), creates the database; on every later start it sets the
# user's password from POSTGRES_PASSWORD (so a rotated Secret takes effect); then it execs the
# server on all addresses. The root filesystem may be read-only: only PGDATA, /var/run/postgresql and /tmp are written.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA

# Arguments that start with "-" are the server's (like the official image).
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "postgres-entrypoint: POSTGRES_PASSWORD must be set to initialise $PGDATA" >&2
		exit 1
	fi
	mkdir -p "$PGDATA" || {
		echo "postgres-entrypoint: cannot create $PGDATA as $(id -u):$(id -g); the volume must be writable by this user (fsGroup)" >&2
		exit 1
	}
	# initdb reads the superuser's password from a file; it lives in /tmp (an emptyDir) only while initdb runs.
	pwfile=/tmp/postgres-password.$$
	(umask 077 && printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile")
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C \
		--auth-local=trust --auth-host=scram-sha-256 || { rm -f "$pwfile"; exit 1; }
	rm -f "$pwfile"
	printf '\n# Added by the image: password (scram-sha-256) connections from anywhere.\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"

	if [ "$POSTGRES_DB" != postgres ]; then
		# A server on the socket only, to create the database.
		pg_ctl --wait --silent --options="-c listen_addresses='' -p ${PGPORT:-5432}" start
		psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=postgres \
			--port="${PGPORT:-5432}" --set=db="$POSTGRES_DB" <<-'EOF'
			CREATE DATABASE :"db";
		EOF
		pg_ctl --wait --silent --mode=fast stop
	fi
	echo "postgres-entrypoint: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
elif [ "$1" = postgres ] && [ -n "${POSTGRES_PASSWORD:-}" ]; then
	# The password is the environment's on every start, not only the first: a changed Secret
	# rolls this pod, and the new password takes over (a rotation). psql reads it from the
	# environment (\getenv), so it appears on no command line.
	pg_ctl --wait --silent --options="-c listen_addresses='' -p ${PGPORT:-5432}" start
	psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=postgres \
		--port="${PGPORT:-5432}" --set=user="$POSTGRES_USER" <<-'EOF'
		\getenv password POSTGRES_PASSWORD
		ALTER ROLE :"user" PASSWORD :'password';
	EOF
	pg_ctl --wait --silent --mode=fast stop
	echo "postgres-entrypoint: set the password of $POSTGRES_USER from POSTGRES_PASSWORD"
fi

if [ "$1" = postgres ]; then
	shift
	exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
