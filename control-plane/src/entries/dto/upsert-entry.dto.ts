import { ArrayMaxSize, ArrayMinSize, IsArray, IsNotEmpty, IsOptional, IsString, MaxLength, registerDecorator, ValidationOptions } from "class-validator";
import { MAX_BACKENDS } from "../../../../lua/src/set_backend/contract";
import { checkBackend, checkHost } from "../host-rules";

function Satisfies(check: (value: string) => { error?: string }, options?: ValidationOptions) {
  return (target: object, propertyName: string) => {
    registerDecorator({
      name: "satisfies",
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => typeof value === "string" && check(value).error === undefined,
        // With { each: true } class-validator calls validate once per array item.
        defaultMessage: (args) =>
          typeof args?.value === "string" ? `${args.property}: ${check(args.value).error}` : `${args?.property} must be a string`,
      },
    });
  };
}

/**
 * Body of POST /entries.json, the seed's Create/Update call: a host and
 * either `backend` (the seed's form) or `backends` (several), not both.
 */
export class UpsertEntryDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  @Satisfies(checkHost)
  host: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  @Satisfies(checkBackend)
  backend?: string;

  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BACKENDS)
  @IsString({ each: true })
  @MaxLength(1000, { each: true })
  @Satisfies(checkBackend, { each: true })
  backends?: string[];
}
