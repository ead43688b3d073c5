import { MigrationInterface, QueryRunner } from "typeorm";

/** An entry may have several backends: `backend text` becomes `backends text[]`, in entries and in the change log. */
export class SeveralBackends1764300000000 implements MigrationInterface {
  name = "SeveralBackends1764300000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "entries" ADD "backends" TEXT[]`);
    await queryRunner.query(`UPDATE "entries" SET "backends" = ARRAY["backend"]`);
    await queryRunner.query(`ALTER TABLE "entries" ALTER COLUMN "backends" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "entries" DROP COLUMN "backend"`);
    await queryRunner.query(`ALTER TABLE "entry_changes" ADD "backends" TEXT[]`);
    await queryRunner.query(`UPDATE "entry_changes" SET "backends" = ARRAY["backend"] WHERE "backend" IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "entry_changes" DROP COLUMN "backend"`);
  }

  /** Keeps the first backend of each entry: the others cannot be expressed in the old schema. */
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "entry_changes" ADD "backend" TEXT`);
    await queryRunner.query(`UPDATE "entry_changes" SET "backend" = "backends"[1] WHERE "backends" IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "entry_changes" DROP COLUMN "backends"`);
    await queryRunner.query(`ALTER TABLE "entries" ADD "backend" TEXT`);
    await queryRunner.query(`UPDATE "entries" SET "backend" = "backends"[1]`);
    await queryRunner.query(`ALTER TABLE "entries" ALTER COLUMN "backend" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "entries" DROP COLUMN "backends"`);
  }
}
