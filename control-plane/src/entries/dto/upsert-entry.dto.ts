import { ArrayMaxSize, ArrayMinSize, IsArray, IsNotEmpty, IsOptional, IsString, MaxLength, registerDecorator, ValidationOptions } from "class-validator";
import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
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

/** Either `backend` (the seed's form) or `backends` (several), not both; the service checks "exactly one". */
export class BackendsDto {
  @ApiPropertyOptional({ description: "One backend, host:port (the seed's form).", example: "localhost:3000" })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  @Satisfies(checkBackend)
  backend?: string;

  @ApiPropertyOptional({ description: `1 to ${MAX_BACKENDS} backends; requests spread over them.`, example: ["10.0.0.1:80", "10.0.0.2:80"], type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BACKENDS)
  @IsString({ each: true })
  @MaxLength(1000, { each: true })
  @Satisfies(checkBackend, { each: true })
  backends?: string[];
}

/** Body of POST /entries.json, the seed's Create/Update call. */
export class UpsertEntryDto extends BackendsDto {
  @ApiProperty({ description: "Host name or wildcard (*.example.com); case, port and a trailing dot are normalized.", example: "some.host.com" })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  @Satisfies(checkHost)
  host: string;
}

/** Body of PUT /entries/<host>.json: the host is in the path. */
export class ReplaceEntryDto extends BackendsDto {}
