import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * set_backend_write: a batch of single-entry writes (upserts and deletes) in
 * one call, so the control plane spends one round trip and one commit on
 * every write that arrived meanwhile instead of four round trips and a
 * commit on each.
 *
 * Arguments, one array element per write, applied in order:
 *   hosts     the normalized host;
 *   backends  the new backends joined by the separator (contract.ts
 *             BACKEND_SEPARATOR), or NULL to delete;
 *   actors    the token name recorded in the change log;
 * with the separator after the backends, then the advisory lock key every
 * writer takes (entries.service.ts WRITE_LOCK_KEY) and the highest revision
 * an edge can store.
 *
 * One row per write: its position, the outcome (created, updated, deleted,
 * or not_found for a delete of a host without an entry, which records
 * nothing), its revision, when it was made and when the entry was created;
 * every row also carries `previous`, the change log's head before the batch.
 *
 * The lock comes first and each later statement takes its own snapshot (the
 * function is VOLATILE and runs under READ COMMITTED, which it checks), so
 * the head and the old backends are read after every earlier writer
 * committed. A revision
 * past the maximum raises SQLSTATE SB507 and the whole batch rolls back.
 */
export class WriteFunction1764500000000 implements MigrationInterface {
  name = "WriteFunction1764500000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "set_backend_write"(p_hosts VARCHAR[], p_backends TEXT[], p_separator TEXT, p_actors VARCHAR[], p_lock_key BIGINT, p_max_revision BIGINT)
      RETURNS TABLE (w_position INT, w_outcome TEXT, w_revision BIGINT, w_changed_at TIMESTAMPTZ, w_created_at TIMESTAMPTZ, w_previous BIGINT)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_old TEXT[];
        v_created TIMESTAMPTZ;
        v_new TEXT[];
      BEGIN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
          RAISE EXCEPTION 'set_backend_write needs READ COMMITTED, not %', current_setting('transaction_isolation');
        END IF;
        PERFORM pg_advisory_xact_lock(p_lock_key);
        SELECT coalesce(max(c."revision"), 0) INTO w_previous FROM "entry_changes" c;
        FOR i IN 1 .. coalesce(array_length(p_hosts, 1), 0) LOOP
          w_position := i;
          SELECT e."backends", e."created_at" INTO v_old, v_created FROM "entries" e WHERE e."host" = p_hosts[i];
          IF NOT FOUND THEN
            v_old := NULL;
            v_created := NULL;
          END IF;
          IF p_backends[i] IS NULL THEN
            IF v_old IS NULL THEN
              w_outcome := 'not_found';
              w_revision := NULL;
              w_changed_at := NULL;
              w_created_at := NULL;
              RETURN NEXT;
              CONTINUE;
            END IF;
            INSERT INTO "entry_changes" ("host", "backends", "actor", "old_backends")
              VALUES (p_hosts[i], NULL, p_actors[i], v_old)
              RETURNING "revision", "changed_at" INTO w_revision, w_changed_at;
            DELETE FROM "entries" WHERE "host" = p_hosts[i];
            w_outcome := 'deleted';
            w_created_at := v_created;
          ELSE
            v_new := string_to_array(p_backends[i], p_separator);
            INSERT INTO "entry_changes" ("host", "backends", "actor", "old_backends")
              VALUES (p_hosts[i], v_new, p_actors[i], v_old)
              RETURNING "revision", "changed_at" INTO w_revision, w_changed_at;
            IF v_old IS NULL THEN
              INSERT INTO "entries" ("host", "backends", "revision", "created_at", "updated_at")
                VALUES (p_hosts[i], v_new, w_revision, w_changed_at, w_changed_at);
              w_outcome := 'created';
              w_created_at := w_changed_at;
            ELSE
              UPDATE "entries" SET "backends" = v_new, "revision" = w_revision, "updated_at" = w_changed_at WHERE "host" = p_hosts[i];
              w_outcome := 'updated';
              w_created_at := v_created;
            END IF;
          END IF;
          IF w_revision > p_max_revision THEN
            RAISE EXCEPTION 'revision % is past the highest an edge can store (%)', w_revision, p_max_revision USING ERRCODE = 'SB507';
          END IF;
          RETURN NEXT;
        END LOOP;
      END
      $fn$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "set_backend_write"(VARCHAR[], TEXT[], TEXT, VARCHAR[], BIGINT, BIGINT)`);
  }
}
