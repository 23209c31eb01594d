# Sourced by the mysql image's entrypoint (docker-entrypoint-initdb.d), once, on the
# first start of an empty data volume; later changes to the passwords here or in
# docker-compose.yml do not reach an existing volume.
#
# The image itself creates the read model's database and user (MYSQL_DATABASE,
# MYSQL_USER, MYSQL_PASSWORD). This adds Temporal's own user, allowed only on
# Temporal's two databases, which the temporal-schema service creates and upgrades.
# No `set -u` here: the file is sourced into the entrypoint's shell.

: "${TEMPORAL_DB_USER:?set TEMPORAL_DB_USER on the mysql service}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD on the mysql service}"

mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
CREATE USER IF NOT EXISTS '${TEMPORAL_DB_USER}'@'%' IDENTIFIED BY '${TEMPORAL_DB_PASSWORD}';
GRANT ALL PRIVILEGES ON \`temporal\`.* TO '${TEMPORAL_DB_USER}'@'%';
GRANT ALL PRIVILEGES ON \`temporal\_visibility\`.* TO '${TEMPORAL_DB_USER}'@'%';
FLUSH PRIVILEGES;
SQL
