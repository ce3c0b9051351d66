/**
 * The relay's PostgreSQL schema (docs/relay.md "Several relays"), as numbered migrations: a
 * relay applies those its database lacks when it starts, under an advisory lock (two relays
 * starting at once migrate once), and records the version in `rollcall_relay_schema`.
 *
 * Why the functions: an admission is one round trip (`rollcall_append_many` for a group of one
 * or more appends, R13; migration 1's `rollcall_append` for relays of the release before it),
 * and it locks the room's row first, so the rows of one room get
 * ids in the order their transactions commit (a relay catching up with `id > last seen` never
 * skips a row that committed late).
 */

/** Serialises migrations across relays (an arbitrary constant: "rollcall"). */
export const MIGRATION_LOCK = 0x726f6c6c;

export const SCHEMA_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS rollcall_relay_schema (version integer NOT NULL)`;
export const SELECT_SCHEMA_VERSION = `SELECT COALESCE(MAX(version), 0) AS version FROM rollcall_relay_schema`;
export const RECORD_SCHEMA_VERSION = `INSERT INTO rollcall_relay_schema (version) VALUES ($1)`;

/** Migration n is MIGRATIONS[n - 1]; never edit one that shipped, add the next. */
export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE relay_rooms (
  room text PRIMARY KEY,
  last_row_id bigint NOT NULL DEFAULT 0
);
CREATE TABLE relay_updates (
  id bigserial PRIMARY KEY,
  room text NOT NULL,
  update_bytes bytea NOT NULL
);
CREATE INDEX relay_updates_by_room ON relay_updates (room, id);
-- R7 across relays: one row per key the room holds; compaction leaves it alone.
CREATE TABLE relay_item_keys (
  room text NOT NULL,
  root text NOT NULL,
  key text NOT NULL,
  PRIMARY KEY (room, root, key)
);

CREATE FUNCTION rollcall_append(p_room text, p_update bytea, p_roots text[], p_keys text[],
  OUT row_id bigint, OUT previous_id bigint, OUT conflict_root text, OUT conflict_key text)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO relay_rooms (room) VALUES (p_room) ON CONFLICT (room) DO NOTHING;
  SELECT r.last_row_id INTO previous_id FROM relay_rooms r WHERE r.room = p_room FOR UPDATE;
  SELECT k.root, k.key INTO conflict_root, conflict_key
    FROM unnest(p_roots, p_keys) AS n(root, key)
    JOIN relay_item_keys k ON k.room = p_room AND k.root = n.root AND k.key = n.key
    LIMIT 1;
  IF conflict_key IS NOT NULL THEN
    previous_id := NULL;
    RETURN;
  END IF;
  INSERT INTO relay_updates (room, update_bytes) VALUES (p_room, p_update) RETURNING id INTO row_id;
  -- The primary key is the guarantee; the check above only names the key.
  INSERT INTO relay_item_keys (room, root, key) SELECT p_room, n.root, n.key FROM unnest(p_roots, p_keys) AS n(root, key);
  UPDATE relay_rooms SET last_row_id = row_id WHERE room = p_room;
END $$;

CREATE FUNCTION rollcall_replace(p_room text, p_merged bytea, p_up_to bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM relay_rooms WHERE room = p_room FOR UPDATE;
  DELETE FROM relay_updates WHERE room = p_room AND id <= p_up_to;
  INSERT INTO relay_updates (id, room, update_bytes) VALUES (p_up_to, p_room, p_merged);
END $$;

CREATE TABLE relay_validators (
  public_key text PRIMARY KEY,
  name text NOT NULL,
  enrolled_at_ms bigint NOT NULL,
  revoked_at_ms bigint
);
CREATE INDEX relay_validators_by_name ON relay_validators (name);
CREATE TABLE relay_enrolment_codes (
  code_hash text PRIMARY KEY,
  name text NOT NULL,
  created_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL,
  used_at_ms bigint,
  used_by text
);
CREATE TABLE relay_room_grants (
  room text PRIMARY KEY,
  validator text NOT NULL,
  grant_json text NOT NULL,
  signature text NOT NULL,
  writes_until_ms bigint NOT NULL,
  issued_at_ms bigint NOT NULL,
  reserved_bytes bigint NOT NULL
);
CREATE INDEX relay_room_grants_by_validator ON relay_room_grants (validator, writes_until_ms);

-- Every relay polls this number: a revocation or another relay's grant makes them re-read.
CREATE TABLE relay_trust_version (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL
);
INSERT INTO relay_trust_version (version) VALUES (0);
CREATE FUNCTION rollcall_bump_trust_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE relay_trust_version SET version = version + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER relay_validators_changed AFTER INSERT OR UPDATE OR DELETE ON relay_validators
  FOR EACH STATEMENT EXECUTE FUNCTION rollcall_bump_trust_version();
CREATE TRIGGER relay_room_grants_changed AFTER INSERT OR UPDATE OR DELETE ON relay_room_grants
  FOR EACH STATEMENT EXECUTE FUNCTION rollcall_bump_trust_version();
`,
  // 2: a group of appends in one statement (R13). Each as rollcall_append, in the order given
  // (the relay sorts by room: groups of two relays lock shared rooms in one order). The updates
  // come concatenated in one bytea with their lengths, the keys flattened with a count per append.
  `
CREATE FUNCTION rollcall_append_many(p_rooms text[], p_updates bytea, p_lengths int[], p_key_counts int[], p_roots text[], p_keys text[])
RETURNS TABLE (ord int, row_id bigint, previous_id bigint, conflict_root text, conflict_key text)
LANGUAGE plpgsql AS $$
DECLARE
  v_room text;
  v_roots text[];
  v_keys text[];
  v_update_at int := 1;
  v_key_at int := 1;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_rooms, 1), 0) LOOP
    v_room := p_rooms[i];
    v_roots := p_roots[v_key_at : v_key_at + p_key_counts[i] - 1];
    v_keys := p_keys[v_key_at : v_key_at + p_key_counts[i] - 1];
    v_key_at := v_key_at + p_key_counts[i];
    ord := i;
    row_id := NULL;
    conflict_root := NULL;
    conflict_key := NULL;
    INSERT INTO relay_rooms (room) VALUES (v_room) ON CONFLICT (room) DO NOTHING;
    SELECT r.last_row_id INTO previous_id FROM relay_rooms r WHERE r.room = v_room FOR UPDATE;
    SELECT k.root, k.key INTO conflict_root, conflict_key
      FROM unnest(v_roots, v_keys) AS n(root, key)
      JOIN relay_item_keys k ON k.room = v_room AND k.root = n.root AND k.key = n.key
      LIMIT 1;
    IF conflict_key IS NOT NULL THEN
      previous_id := NULL;
    ELSE
      INSERT INTO relay_updates (room, update_bytes) VALUES (v_room, substring(p_updates FROM v_update_at FOR p_lengths[i])) RETURNING id INTO row_id;
      INSERT INTO relay_item_keys (room, root, key) SELECT v_room, n.root, n.key FROM unnest(v_roots, v_keys) AS n(root, key);
      UPDATE relay_rooms SET last_row_id = row_id WHERE room = v_room;
    END IF;
    v_update_at := v_update_at + p_lengths[i];
    RETURN NEXT;
  END LOOP;
END $$;
`,
];
