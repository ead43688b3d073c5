import { IsNotEmpty, IsString, MaxLength, registerDecorator, ValidationOptions } from "class-validator";
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
        defaultMessage: (args) =>
          typeof args?.value === "string" ? `${args.property}: ${check(args.value).error}` : `${args?.property} must be a string`,
      },
    });
  };
}

/** Body of POST /entries.json, the seed's Create/Update call. */
export class UpsertEntryDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  @Satisfies(checkHost)
  host: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  @Satisfies(checkBackend)
  backend: string;
}
