import { MigrationInterface, QueryRunner } from "typeorm";

/** The routing table and its change log. */
export class CreateEntries1764200000000 implements MigrationInterface {
  name = "CreateEntries1764200000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "entry_changes" (
        "revision" BIGSERIAL PRIMARY KEY,
        "host" VARCHAR(253) NOT NULL,
        "backend" TEXT,
        "changed_at" TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_entry_changes_host" ON "entry_changes" ("host")`);
    await queryRunner.query(`
      CREATE TABLE "entries" (
        "host" VARCHAR(253) PRIMARY KEY,
        "backend" TEXT NOT NULL,
        "revision" BIGINT NOT NULL,
        "created_at" TIMESTAMPTZ NOT NULL,
        "updated_at" TIMESTAMPTZ NOT NULL
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "entries"`);
    await queryRunner.query(`DROP TABLE "entry_changes"`);
  }
}
