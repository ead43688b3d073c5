import { MigrationInterface, QueryRunner } from "typeorm";

/** The change log becomes a history: who made each change, and what the entry was before. */
export class ChangeHistory1764400000000 implements MigrationInterface {
  name = "ChangeHistory1764400000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "entry_changes" ADD "actor" VARCHAR(64)`);
    await queryRunner.query(`ALTER TABLE "entry_changes" ADD "old_backends" TEXT[]`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "entry_changes" DROP COLUMN "old_backends"`);
    await queryRunner.query(`ALTER TABLE "entry_changes" DROP COLUMN "actor"`);
  }
}
