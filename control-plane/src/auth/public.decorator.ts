import { SetMetadata } from "@nestjs/common";

export const IS_PUBLIC = "set-backend:public";

/** Marks a route that answers without the admin token (health checks, the edges' own endpoint). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
